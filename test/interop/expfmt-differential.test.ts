// Differential fuzz: our /metrics against upstream's own code path (Go's
// prometheus/common expfmt at the versions kata-monitor pins, run by the
// oracle in test/interop/expfmt-oracle). Every case is a shim body cut from
// a real one and damaged a little (test/interop/support/mutate.ts); both
// sides must take the same accept/reject decision and, when they accept,
// write the same bytes.
//
//   KATA_DIFF_CASES=50000   more cases (default 3000)
//   KATA_DIFF_SEED=123      another seed (default 1; "random" picks one)
//   KATA_DIFF_CASE=17       only that case of the seed (replays a failure)
//
// All mismatches are collected, grouped by kind (and within a kind by the
// error, or by what the first differing output lines differ in), and
// reported together; a few cases of each group, one per set of mutations,
// are shrunk to the bytes that matter. The full report also goes to
// test-output/interop/expfmt-differential.txt.
//
// Upstream behaviour that is not a target: where Go's parser panics (that
// would take kata-monitor down) the case is noted, not failed. Families are
// compared sorted by name (upstream writes them in Go map order).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goPeer } from './support/go.ts';
import { ExpfmtOracle, type OracleAnswer } from './support/expfmt-oracle.ts';
import { BodyGenerator, caseRng, sandboxMetadata, type Metadata, type Mutation } from './support/mutate.ts';
import { shrinkBody } from './support/shrink.ts';

// ---- OUR implementation: the one place that knows src/ ----------------------
// Repoint this function when the scanner changes; nothing below it knows src/.

import { ScanError, scanBody } from '../../src/exposition/scan.ts';
import { sandboxLabelText, shimPrefix } from '../../src/scrape/relabel.ts';
import { familyChunks, mergeSnapshot } from '../../src/scrape/merge.ts';
import { ChunkPool } from '../../src/buffers/chunk-pool.ts';
import type { SandboxScrape, Snapshot } from '../../src/scrape/snapshot.ts';

interface Sandbox extends Metadata {
  readonly body: Buffer;
}

interface OurAnswer {
  /** Bodies we refuse as not Prometheus text, by sandbox id: our message. */
  readonly rejected: Readonly<Record<string, string>>;
  /** Anything else that escaped our code (a bug whatever the input), by sandbox id or "merge". */
  readonly crashed: Readonly<Record<string, string>>;
  readonly text: Buffer;
}

/** Scrape-time indexing of each body, then the /metrics merge and write; sandboxes come sorted by id. */
function ours(sandboxes: readonly Sandbox[]): OurAnswer {
  const rejected: Record<string, string> = {};
  const crashed: Record<string, string> = {};
  const scrapes: SandboxScrape[] = [];
  for (const sb of sandboxes) {
    const metadata = { uid: sb.uid, name: sb.name, namespace: sb.namespace };
    try {
      const scan = scanBody(sb.body, { prefix: shimPrefix });
      const sandbox = { id: sb.id, root: '/run/vc/sbs', metadata, metadataKnown: true, discoveredAt: 0 };
      scrapes.push({ sandbox, durationMs: 1, at: 0, scan, sampleCount: scan.samples });
    } catch (e) {
      if (e instanceof ScanError) rejected[sb.id] = e.message;
      else crashed[sb.id] = e instanceof Error ? (e.stack ?? e.message) : String(e);
    }
  }
  const snapshot: Snapshot = { startedAt: 0, finishedAt: 0, reason: 'command', sandboxes: scrapes };
  try {
    return { rejected, crashed, text: Buffer.concat([...familyChunks(mergeSnapshot(snapshot).families, new ChunkPool(4096))]) };
  } catch (e) {
    crashed.merge = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return { rejected, crashed, text: Buffer.alloc(0) };
  }
}

// ---- cases ------------------------------------------------------------------

/** A non-negative integer from the environment (a typo must not make a vacuous run). */
function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${raw}: expected a non-negative integer`);
  return n;
}

const CASES = envInt('KATA_DIFF_CASES') ?? 3000;
const SEED = process.env.KATA_DIFF_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : (envInt('KATA_DIFF_SEED') ?? 1);
const ONLY = envInt('KATA_DIFF_CASE');
const REPORT = fileURLToPath(new URL('../../test-output/interop/expfmt-differential.txt', import.meta.url));

interface Case {
  readonly no: number;
  readonly sandboxes: readonly Sandbox[];
  /** Per sandbox, in the same order. */
  readonly mutations: readonly (readonly Mutation[])[];
}

/** One sandbox most of the time, two with the same families (the merge) about one case in eight. */
function makeCase(gen: BodyGenerator, no: number): Case {
  const rng = caseRng(SEED, no);
  const bodies = rng.chance(0.125) ? gen.pair(rng) : [gen.body(rng)];
  const both = bodies.map((b) => ({ sandbox: { ...sandboxMetadata(rng), body: b.body }, mutations: b.mutations }));
  both.sort((a, b) => (a.sandbox.id < b.sandbox.id ? -1 : 1)); // our snapshot order
  return { no, sandboxes: both.map((x) => x.sandbox), mutations: both.map((x) => x.mutations) };
}

// ---- judging ----------------------------------------------------------------

type Kind =
  | 'Go rejects, we accept'
  | 'we reject, Go accepts'
  | 'same bodies accepted, output differs'
  | "Go's encoder refuses (upstream cuts /metrics short)"
  | 'we crash';

/**
 * Not failures. Upstream's behaviour is undefined where its parser panics.
 * Where its encoder refuses a family, upstream cuts /metrics short there
 * (what follows depends on Go's map order): ours must have written the same
 * up to that point, and goes on. And where a line starting with '{' names
 * no metric, Go's parser appends the previous metric again, so kata-monitor
 * appends the sandbox labels to it twice: a line Prometheus refuses (label
 * names repeat); ours writes them once and must otherwise be the same.
 */
type Note =
  | 'Go parser panics (kata-monitor would crash)'
  | "Go's encoder refuses: ours writes the same up to there, then the rest"
  | 'Go repeats the sandbox labels of a metric a "{" line reuses: ours writes them once';

interface Finding {
  readonly kind: Kind | Note;
  /** Sub-group: the normalised error message, or what the first differing output lines differ in. */
  readonly group: string;
  readonly detail: string;
}

const NOTES: ReadonlySet<string> = new Set<Note>([
  'Go parser panics (kata-monitor would crash)',
  "Go's encoder refuses: ours writes the same up to there, then the rest",
  'Go repeats the sandbox labels of a metric a "{" line reuses: ours writes them once',
]);

/** Go's and our messages without line numbers and quoted specifics, so that one fault is one group. */
function normalise(message: string): string {
  return message
    .replace(/^text format parsing error in line \d+: /, '')
    .replace(/^line \d+: /, '')
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'\\?.'/g, "'…'")
    .replace(/ in metric .*/s, ' in metric …');
}

function tags(c: Case): string {
  const all = [...new Set(c.mutations.flat().map((m) => m.tag))].sort();
  return all.length > 0 ? all.join(' + ') : 'unmutated';
}

function judge(c: Case, go: OracleAnswer, our: OurAnswer): Finding | undefined {
  const crash = Object.entries(our.crashed)[0];
  if (crash) return { kind: 'we crash', group: crash[1].split('\n')[0]!, detail: crash[1] };
  for (const sb of c.sandboxes) {
    const goError = go.rejected[sb.id];
    const ourError = our.rejected[sb.id];
    if (goError?.startsWith('panic: ')) {
      return { kind: 'Go parser panics (kata-monitor would crash)', group: goError, detail: `Go: ${goError}\nours: ${ourError ?? 'accepted'}` };
    }
    if (goError !== undefined && ourError === undefined) {
      return { kind: 'Go rejects, we accept', group: normalise(goError), detail: `Go: ${goError}\nours: accepted` };
    }
    if (goError === undefined && ourError !== undefined) {
      return { kind: 'we reject, Go accepts', group: normalise(ourError), detail: `Go: accepted\nours: ${ourError}` };
    }
  }
  if (go.encodeError !== undefined && !go.text.equals(our.text)) {
    const detail = `Go's encoder: ${go.encodeError}\n${firstDifference(go.text, our.text, c)}`;
    const texts = [go.text, go.textAlt].filter((t) => t !== undefined).flatMap((t) => [t, withoutRepeatedSandboxLabels(t, c)]);
    if (texts.some((t) => writesSameBeforeRefusal(t, our.text))) {
      return { kind: "Go's encoder refuses: ours writes the same up to there, then the rest", group: normalise(go.encodeError), detail };
    }
    return { kind: "Go's encoder refuses (upstream cuts /metrics short)", group: normalise(go.encodeError), detail };
  }
  const once = withoutRepeatedSandboxLabels(go.text, c);
  if (!go.text.equals(our.text) && once.equals(our.text)) {
    return { kind: 'Go repeats the sandbox labels of a metric a "{" line reuses: ours writes them once', group: 'sandbox labels twice', detail: firstDifference(go.text, our.text, c) };
  }
  // go_x next to kata_shim_go_x: upstream's order of the two is Go's map order, either answer is upstream's.
  if (!go.text.equals(our.text) && !go.textAlt?.equals(our.text)) {
    const twins = go.ambiguous.length > 0 ? 'with go_x and kata_shim_go_x in one body: ' : '';
    return { kind: 'same bodies accepted, output differs', group: twins + differenceClass(go.text, our.text), detail: firstDifference(go.text, our.text, c) };
  }
  return undefined;
}

/**
 * Whether ours starts with what Go wrote before its encoder gave up: its
 * complete lines (ours writes the family it refused, less the metrics of
 * the wrong type), or its lines before the refused family's block (a family
 * Go cannot write at all, a gauge histogram, is left out).
 */
function writesSameBeforeRefusal(go: Buffer, ours: Buffer): boolean {
  const complete = go.subarray(0, go.lastIndexOf(10) + 1);
  if (ours.subarray(0, complete.length).equals(complete)) return true;
  const lines = complete.toString('latin1').split('\n');
  let k = lines.length - 1;
  while (k > 0 && /^# (HELP|TYPE) /.test(lines[k - 1]!)) k--;
  const before = Buffer.from(lines.slice(0, k).join('\n') + (k > 0 ? '\n' : ''), 'latin1');
  return ours.subarray(0, before.length).equals(before);
}

/** Go's text with each sandbox's four labels written once per line where Go repeats them. */
function withoutRepeatedSandboxLabels(text: Buffer, c: Case): Buffer {
  let out = text.toString('latin1');
  for (const sb of c.sandboxes) {
    const pairs = Buffer.from(sandboxLabelText(sb.id, { uid: sb.uid, name: sb.name, namespace: sb.namespace })).toString('latin1');
    const twice = ',' + pairs;
    while (out.includes(pairs + twice)) out = out.split(pairs + twice).join(pairs);
  }
  return Buffer.from(out, 'latin1');
}

/** What the first differing line pair differs in: the group of an output difference. */
function differenceClass(go: Buffer, our: Buffer): string {
  const [a, b] = firstDifferingLines(go, our);
  if (a === undefined) return 'we write lines Go does not';
  if (b === undefined) return 'Go writes lines we do not';
  const meta = (l: string): string | undefined => /^# (HELP|TYPE) /.exec(l)?.[1];
  if (meta(a) || meta(b)) return meta(a) === meta(b) ? `${meta(a)} line` : 'HELP/TYPE line against a sample line';
  // series = name and labels; the rest is value and timestamp.
  const split = (l: string): [string, string, string | undefined] => {
    const close = l.lastIndexOf('}');
    const series = close >= 0 ? l.slice(0, close + 1) : l.slice(0, l.indexOf(' '));
    const [value = '', ts] = l.slice(series.length).trim().split(' ');
    return [series, value, ts];
  };
  const [sa, va, ta] = split(a);
  const [sb, vb, tb] = split(b);
  if (sa === sb) return va !== vb ? 'sample value' : ta === undefined || tb === undefined ? 'timestamp present on one side' : 'timestamp';
  const name = (series: string): string => series.replace(/\{.*/s, '');
  if (name(sa) !== name(sb)) return 'sample name (another line, or lines in another order)';
  return 'label set';
}

// ---- showing bytes ----------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One line with its invisible bytes made visible (\t, \r, \0, bytes that are not UTF-8 as \xNN). */
function visible(line: Buffer): string {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    text = [...line].map((b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  }
  return text.replace(/[\u0000-\u001f\u007f]/g, (ch) => (ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

function lines(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) {
    out.push(b.subarray(from, i));
    from = i + 1;
  }
  if (from < b.length) out.push(b.subarray(from));
  return out;
}

function firstDifferingIndex(a: Buffer[], b: Buffer[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i]!.equals(b[i]!)) i++;
  return i;
}

function firstDifferingLines(go: Buffer, our: Buffer): [string | undefined, string | undefined] {
  const a = lines(go);
  const b = lines(our);
  const i = firstDifferingIndex(a, b);
  return [a[i]?.toString('latin1'), b[i]?.toString('latin1')];
}

/** The four labels upstream appends for a sandbox, escaped as Go's encoder escapes label values. */
function sandboxLabels(sb: Sandbox): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `sandbox_id="${esc(sb.id)}",cri_uid="${esc(sb.uid)}",cri_name="${esc(sb.name)}",cri_namespace="${esc(sb.namespace)}"`;
}

/** A line with each sandbox's four labels, where written exactly as expected, shortened to <sb:1234…>. */
function abbreviate(line: Buffer, c: Case): Buffer {
  let out = line;
  for (const sb of c.sandboxes) {
    const labels = Buffer.from(sandboxLabels(sb));
    const parts: Buffer[] = [];
    let from = 0;
    for (let at = out.indexOf(labels); at >= 0; at = out.indexOf(labels, from)) {
      parts.push(out.subarray(from, at), Buffer.from(`<sb:${sb.id.slice(0, 4)}…>`));
      from = at + labels.length;
    }
    out = Buffer.concat([...parts, out.subarray(from)]);
  }
  return out;
}

/** The first line where the two outputs part, each side's version of it. */
function firstDifference(go: Buffer, our: Buffer, c: Case): string {
  const a = lines(go);
  const b = lines(our);
  const i = firstDifferingIndex(a, b);
  const side = (xs: Buffer[]): string => (i < xs.length ? `| ${visible(abbreviate(xs[i]!, c))}` : '(end of output)');
  return `first difference, output line ${i + 1} (Go ${a.length} lines, ours ${b.length}):\n  Go:   ${side(a)}\n  ours: ${side(b)}`;
}

/** A body as numbered, visible lines, cut after `max` lines. */
function showBody(body: Buffer, max = 30): string {
  const ls = lines(body);
  const shown = ls.slice(0, max).map((l, i) => `    ${String(i + 1).padStart(3)} | ${visible(l).slice(0, 240)}`);
  if (ls.length > max) shown.push(`    … ${ls.length - max} more lines`);
  if (body.length > 0 && body[body.length - 1] !== 0x0a) shown.push('    (no newline at the end)');
  return shown.length > 0 ? shown.join('\n') : '    (empty body)';
}

function showCase(c: Case, f: Finding): string {
  const parts = [`seed ${SEED} case ${c.no} (replay: KATA_DIFF_SEED=${SEED} KATA_DIFF_CASE=${c.no})`, f.detail];
  c.sandboxes.forEach((sb, i) => {
    const ms = c.mutations[i]!;
    parts.push(`  sandbox ${sb.id.slice(0, 12)}… name=${JSON.stringify(sb.name)} mutations: ${ms.length > 0 ? ms.map((m) => `${m.tag} (${m.detail})`).join('; ') : 'none'}`);
    parts.push(showBody(sb.body));
  });
  return parts.join('\n');
}

// ---- the test ---------------------------------------------------------------

interface Group {
  readonly kind: Kind | Note;
  readonly group: string;
  readonly cases: { c: Case; f: Finding }[];
}

test(`kata-monitor's expfmt path and ours agree on ${ONLY === undefined ? `${CASES} seeded shim bodies` : `case ${ONLY}`} (seed ${SEED})`, { timeout: 30 * 60_000 }, async (t) => {
  const binary = await goPeer(t, 'expfmt-oracle', 'expfmt-oracle');
  if (!binary) return;
  const oracle = new ExpfmtOracle(binary);
  try {
    const gen = new BodyGenerator(SEED);
    const groups = new Map<string, Group>();
    const started = performance.now();
    for (let no = ONLY ?? 0; no < (ONLY === undefined ? CASES : ONLY + 1); no++) {
      const c = makeCase(gen, no);
      const f = judge(c, await oracle.ask(c.sandboxes), ours(c.sandboxes));
      if (!f) continue;
      const key = `${f.kind}\u0000${f.group}`;
      const g = groups.get(key) ?? { kind: f.kind, group: f.group, cases: [] };
      g.cases.push({ c, f });
      groups.set(key, g);
    }
    const elapsed = performance.now() - started;

    const report = await summarise(oracle, [...groups.values()]);
    const timing = `${ONLY === undefined ? CASES : 1} cases in ${(elapsed / 1000).toFixed(1)} s`;
    mkdirSync(path.dirname(REPORT), { recursive: true });
    writeFileSync(REPORT, `${report.full}\n(${timing})\n`);
    t.diagnostic(`${timing}; ${report.notes}`);
    assert.ok(report.failures === 0, `${report.short}\n\nfull report: ${REPORT}`);
  } finally {
    await oracle.stop();
  }
});

/** Shrinking stops after this many oracle round trips in all (about 0.3 ms each). */
const SHRINK_BUDGET = 40_000;

/**
 * Up to `n` cases of a group worth showing: one per distinct set of
 * mutations, one-sandbox cases with the fewest mutations first.
 */
function representatives(g: Group, n: number): { c: Case; f: Finding }[] {
  const ranked = [...g.cases].sort((x, y) => x.c.sandboxes.length - y.c.sandboxes.length || x.c.mutations.flat().length - y.c.mutations.flat().length || x.c.no - y.c.no);
  const seen = new Set<string>();
  const out: { c: Case; f: Finding }[] = [];
  for (const x of ranked) {
    if (out.length >= n) break;
    if (seen.has(tags(x.c))) continue;
    seen.add(tags(x.c));
    out.push(x);
  }
  return out;
}

/** Counts per kind and group, with a few cases of each group shown and shrunk. */
async function summarise(oracle: ExpfmtOracle, groups: Group[]): Promise<{ failures: number; short: string; full: string; notes: string }> {
  const failing = groups.filter((g) => !NOTES.has(g.kind));
  const failures = failing.reduce((n, g) => n + g.cases.length, 0);
  const byKind = new Map<string, Group[]>();
  for (const g of groups) byKind.set(g.kind, [...(byKind.get(g.kind) ?? []), g]);
  const notes = [...byKind]
    .filter(([kind]) => NOTES.has(kind))
    .map(([kind, gs]) => `${kind}: ${gs.reduce((n, g) => n + g.cases.length, 0)}`)
    .join('; ');

  const full: string[] = [
    `seed ${SEED}: ${failures} mismatching cases in ${failing.length} groups`,
    '(in output lines, <sb:1234…> stands for the sandbox_id, cri_uid, cri_name and cri_namespace labels of that sandbox, where written as upstream writes them)',
  ];
  const short: string[] = [...full];
  const budget = { tries: SHRINK_BUDGET };
  const kinds = [...byKind].sort((a, b) => Number(NOTES.has(a[0])) - Number(NOTES.has(b[0])));
  for (const [kind, gs] of kinds) {
    gs.sort((a, b) => b.cases.length - a.cases.length);
    const head = `\n=== ${kind}${NOTES.has(kind) ? ' (noted, not a failure)' : ''}: ${gs.reduce((n, g) => n + g.cases.length, 0)} cases, ${gs.length} groups`;
    full.push(head);
    short.push(head);
    for (const [k, g] of gs.entries()) {
      const mix = new Map<string, number>();
      for (const x of g.cases) mix.set(tags(x.c), (mix.get(tags(x.c)) ?? 0) + 1);
      const top = [...mix].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([t, n]) => `${t} ${n}×`).join('; ');
      const title = `\n--- [${g.cases.length}×] ${g.group}\n    cases ${g.cases.slice(0, 8).map((x) => x.c.no).join(', ')}${g.cases.length > 8 ? ', …' : ''}; mutations: ${top}`;
      full.push(title);
      if (k < 12) short.push(title);
      for (const [r, x] of representatives(g, 4).entries()) {
        const small = x.c.sandboxes.length === 1 ? await shrinkCase(oracle, x.c, x.f, budget) : undefined;
        const text = `${showCase(x.c, x.f)}${small ? `\n  shrunk to:\n${showBody(small.body)}\n  ${small.detail.replace(/\n/g, '\n  ')}` : ''}`;
        full.push(text);
        if (k < 12 && r === 0) short.push(text);
      }
    }
    if (gs.length > 12) short.push(`\n(${gs.length - 12} more groups of this kind in the full report)`);
  }
  return { failures, short: short.join('\n'), full: full.join('\n'), notes: notes || 'no notes' };
}

/** A case's body shrunk while the case stays in the same group (undefined when nothing could go). */
async function shrinkCase(oracle: ExpfmtOracle, c: Case, f: Finding, budget: { tries: number }): Promise<{ body: Buffer; detail: string } | undefined> {
  if (budget.tries <= 0) return undefined;
  let last = f;
  const same = async (body: Buffer): Promise<boolean> => {
    budget.tries--;
    const smaller: Case = { ...c, sandboxes: [{ ...c.sandboxes[0]!, body }] };
    const g = judge(smaller, await oracle.ask(smaller.sandboxes), ours(smaller.sandboxes));
    const ok = g !== undefined && g.kind === f.kind && g.group === f.group;
    if (ok) last = g;
    return ok;
  };
  const body = await shrinkBody(c.sandboxes[0]!.body, same, Math.min(500, budget.tries));
  return body.length < c.sandboxes[0]!.body.length ? { body, detail: last.detail } : undefined;
}
