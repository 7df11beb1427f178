// The shipped configuration files load as written, and the example documents
// every key each component type accepts, with the default the code uses.
// The keys come from the component types themselves (RECEIVER_KEYS, and the
// `keys` of EXPORTERS, PROCESSORS, EXTENSIONS), the defaults from
// RECEIVER_DEFAULTS, the exporter helper's constants and, for components
// without exported constants, what the loader gives an empty section; so a
// key or default added to the code and not to the example fails here.
//
// A key shown commented out (`# endpoint: … # default …`) counts as
// documented: the example shows TLS, authentication and optional exporters
// that way.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { Config } from '../../src/components.ts';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../../src/config/load.ts';
import type { KeyTree } from '../../src/config/reader.ts';
import { parseDuration, parseSize } from '../../src/config/units.ts';
import { EXPORTERS, EXTENSIONS, PROCESSORS } from '../../src/otel/config.ts';
import { QUEUE_DEFAULTS, RETRY_DEFAULTS, TIMEOUT_DEFAULT_MS } from '../../src/otel/exporters/helper/config.ts';
import { OTLP_KEYS } from '../../src/otel/exporters/helper/otlp-settings.ts';
import { GRPC_DEFAULT_ENDPOINT } from '../../src/otel/exporters/otlp/config.ts';
import { HTTP_DEFAULT_ENDPOINT } from '../../src/otel/exporters/otlphttp/config.ts';
import { DEFAULT_PROMETHEUS_PATH } from '../../src/otel/exporters/prometheus/config.ts';
import { DEFAULT_STORAGE_DIRECTORY } from '../../src/otel/extensions/file_storage/config.ts';
import { RECEIVER_DEFAULTS, RECEIVER_KEYS, RECEIVER_TYPE } from '../../src/receiver/config.ts';
import { loadErrors, loadOk } from './helpers.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

const EXAMPLE_FILE = 'otel-config.example.yaml';
const EXAMPLE = read(EXAMPLE_FILE);
const SHIPPED = readdirSync(new URL('config/', root))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => `config/${f}`);
/** What each shipped file needs from the environment (the DaemonSet's downward API). */
const SHIPPED_ENV: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'config/kata-monitor.yaml': { K8S_NODE_NAME: 'node-1' },
};

// ------------------------------------------------------------ the example, read with its commented-out keys

/**
 * The example with every commented-out key line uncommented (`  # tls:` →
 * `  tls:`, `  #   cert_file: x` → `    cert_file: x`): one "# " removed,
 * so the key sits where it would if uncommented. Prose comments stay comments.
 */
function uncommented(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = /^(\s*)# ?(\s*(?:- )?[A-Za-z_][\w./-]*:(?:\s.*)?)$/.exec(line);
      return m && m[1] !== undefined && m[2] !== undefined && (m[1].length > 0 || /^\S/.test(m[2])) ? m[1] + m[2] : line;
    })
    .join('\n');
}

interface KeyAt {
  /** Dotted path, component ids kept (exporters.otlphttp/vendor.endpoint). */
  readonly path: readonly string[];
  /** The line's text, for its `# default …` comment. */
  readonly lineText: string;
  readonly line: number;
}

/** Every key in the document with its line, lists walked through. */
function keysOf(text: string): KeyAt[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', lineCounter: lines, uniqueKeys: false });
  assert.deepEqual(doc.errors.map((e) => e.message), [], `${EXAMPLE_FILE} with its commented-out keys uncommented must still be YAML`);
  const rawLines = text.split('\n');
  const out: KeyAt[] = [];
  const walk = (node: unknown, path: string[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode;
        const key = String(isScalar(keyNode) ? keyNode.value : keyNode);
        const line = lines.linePos(keyNode.range?.[0] ?? 0).line;
        out.push({ path: [...path, key], lineText: rawLines[line - 1] ?? '', line });
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item, path);
    }
  };
  walk(doc.contents, []);
  return out;
}

const DOCUMENTED = keysOf(uncommented(EXAMPLE));

/** The type of a component id (`otlphttp/vendor` → `otlphttp`). */
const typeOf = (id: string): string => id.split('/')[0] ?? id;

/** Key paths of a KeyTree, e.g. ['retry_on_failure', 'retry_on_failure.enabled', …]. */
function treePaths(tree: KeyTree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, sub]) => [prefix + k, ...treePaths(sub, `${prefix}${k}.`)]);
}

/** Whether `path` lies in `tree`; under a leaf anything goes (free-form maps: headers, resource). */
function inTree(tree: KeyTree, path: readonly string[]): boolean {
  let t: KeyTree = tree;
  for (const k of path) {
    if (Object.keys(t).length === 0) return true;
    const next = t[k];
    if (!next) return false;
    t = next;
  }
  return true;
}

/** For each component of a kind, what the example shows: type → (key path inside the component → where). */
function shownKeys(kind: 'receivers' | 'processors' | 'exporters' | 'extensions'): Map<string, Map<string, KeyAt[]>> {
  const out = new Map<string, Map<string, KeyAt[]>>();
  for (const k of DOCUMENTED) {
    if (k.path[0] !== kind || k.path.length < 2) continue;
    const type = typeOf(k.path[1]!);
    const keys = out.get(type) ?? new Map<string, KeyAt[]>();
    out.set(type, keys);
    if (k.path.length > 2) {
      const inner = k.path.slice(2).join('.');
      keys.set(inner, [...(keys.get(inner) ?? []), k]);
    }
  }
  return out;
}

/** The component kinds and the keys their types accept. */
const KINDS = {
  receivers: { [RECEIVER_TYPE]: RECEIVER_KEYS as KeyTree },
  processors: Object.fromEntries(Object.entries(PROCESSORS).map(([t, c]) => [t, c.keys])),
  exporters: Object.fromEntries(Object.entries(EXPORTERS).map(([t, c]) => [t, c.keys])),
  extensions: Object.fromEntries(Object.entries(EXTENSIONS).map(([t, c]) => [t, c.keys])),
} as const;

/**
 * The OTLP exporters share the helper's keys (all of OTLP_KEYS but the
 * endpoint, whose default differs): shown under one, they are documented for both.
 */
const OTLP_TYPES = ['otlp', 'otlphttp'];
const SHARED = new Set(treePaths(OTLP_KEYS).filter((p) => p !== 'endpoint'));

// ------------------------------------------------------------ the defaults the code uses

type Kind = 'duration' | 'size' | 'number' | 'bool' | 'string' | 'list';

/** The default the code uses for a key, and how to read the text written in the example. */
interface Expected {
  readonly kind: Kind;
  readonly value: number | boolean | string | readonly string[];
}

const duration = (ms: number): Expected => ({ kind: 'duration', value: ms });
const num = (n: number): Expected => ({ kind: 'number', value: n });
const bool = (b: boolean): Expected => ({ kind: 'bool', value: b });
const str = (s: string): Expected => ({ kind: 'string', value: s });

/** What the loader gives a component's empty section (for components whose defaults are not exported constants). */
function emptySection(kind: 'processors' | 'exporters' | 'extensions', id: string, body = '{}'): Record<string, unknown> {
  const pipeline = kind === 'extensions' ? `service:\n  extensions: [${id}]\n` : `service:\n  pipelines:\n    metrics: { receivers: [kata_monitor], ${kind === 'processors' ? `processors: [${id}], exporters: [debug]` : `exporters: [${id}]`} }\n`;
  const debug = kind === 'processors' ? 'exporters:\n  debug: {}\n' : '';
  const { config } = loadOk(`${kind}:\n  ${id}: ${body}\n${debug}${pipeline}`);
  const c: Config = config;
  const found = kind === 'extensions' ? c.extensions[0] : kind === 'processors' ? c.pipelines[0]?.processors[0] : c.pipelines[0]?.exporters[0];
  assert.ok(found, `${kind}.${id} loads`);
  return found as unknown as Record<string, unknown>;
}

function expectedDefaults(): Map<string, Expected> {
  const R = RECEIVER_DEFAULTS;
  const rec = (k: string): string => `receivers.${RECEIVER_TYPE}.${k}`;
  const debug = emptySection('exporters', 'debug');
  const file = emptySection('exporters', 'file', '{ path: /x }') as { format: string; append: boolean; createDirectory: boolean };
  // Rotation is off unless set; an empty rotation section gives its defaults.
  const rotation = (emptySection('exporters', 'file', '{ path: /x, rotation: {} }') as { rotation: Record<string, number | boolean> }).rotation;
  const storage = emptySection('extensions', 'file_storage') as { createDirectory: boolean; directoryPermissions: number; fsync: boolean; recreate: boolean };
  const batch = emptySection('processors', 'batch') as { sendBatchMaxSize: number };
  const otlp = emptySection('exporters', 'otlp') as { compression: string };
  const http = emptySection('exporters', 'otlphttp') as { encoding: string; compression: string };
  const helper = (type: string): [string, Expected][] => [
    [`exporters.${type}.compression`, str(type === 'otlp' ? otlp.compression : http.compression)],
    [`exporters.${type}.timeout`, duration(TIMEOUT_DEFAULT_MS)],
    [`exporters.${type}.retry_on_failure.enabled`, bool(RETRY_DEFAULTS.enabled)],
    [`exporters.${type}.retry_on_failure.initial_interval`, duration(RETRY_DEFAULTS.initialIntervalMs)],
    [`exporters.${type}.retry_on_failure.max_interval`, duration(RETRY_DEFAULTS.maxIntervalMs)],
    [`exporters.${type}.retry_on_failure.max_elapsed_time`, duration(RETRY_DEFAULTS.maxElapsedMs)],
    [`exporters.${type}.retry_on_failure.multiplier`, num(RETRY_DEFAULTS.multiplier)],
    [`exporters.${type}.retry_on_failure.randomization_factor`, num(RETRY_DEFAULTS.randomizationFactor)],
    [`exporters.${type}.sending_queue.enabled`, bool(QUEUE_DEFAULTS.enabled)],
    [`exporters.${type}.sending_queue.sizer`, str(QUEUE_DEFAULTS.sizer)],
    [`exporters.${type}.sending_queue.queue_size`, num(QUEUE_DEFAULTS.size)],
    [`exporters.${type}.sending_queue.drop_policy`, str(QUEUE_DEFAULTS.dropPolicy)],
  ];
  return new Map<string, Expected>([
    [rec('listen_address'), str(R.server.listenAddress)],
    [rec('runtime_endpoint'), str(R.cri.runtimeEndpoint)],
    [rec('sandbox_roots'), { kind: 'list', value: R.discovery.sandboxRoots }],
    [rec('root_retry_interval'), duration(R.discovery.rootRetryIntervalMs)],
    [rec('collection_interval'), duration(R.collectionIntervalMs)],
    [rec('openmetrics'), bool(R.server.openMetrics)],
    [rec('gzip_level'), num(R.server.gzipLevel)],
    [rec('demo'), bool(R.demo)],
    [rec('cri.timeout'), duration(R.cri.timeoutMs)],
    [rec('cri.resync_interval'), duration(R.cri.resyncIntervalMs)],
    [rec('cri.first_lookup_delay'), duration(R.cri.firstLookupDelayMs)],
    [rec('shim.timeout'), duration(R.shim.timeoutMs)],
    [rec('shim.max_body_bytes'), { kind: 'size', value: R.shim.maxBodyBytes }],
    [rec('shim.concurrency'), num(R.shim.concurrency)],
    [rec('sample_limit'), num(R.limits.sampleLimit)],
    [rec('label_limit'), num(R.limits.labelLimit)],
    [rec('label_name_length_limit'), num(R.limits.labelNameLengthLimit)],
    [rec('label_value_length_limit'), num(R.limits.labelValueLengthLimit)],
    ['processors.batch.send_batch_max_size', num(batch.sendBatchMaxSize)],
    ['exporters.otlp.endpoint', str(GRPC_DEFAULT_ENDPOINT)],
    // endpoint is a base URL that gets /v1/metrics appended: its default is the base.
    ['exporters.otlphttp.endpoint', str(HTTP_DEFAULT_ENDPOINT.replace(/\/v1\/metrics$/, ''))],
    ['exporters.otlphttp.encoding', str(http.encoding)],
    ...helper('otlp'),
    ...helper('otlphttp'),
    ['exporters.debug.verbosity', str(String(debug.verbosity))],
    ['exporters.debug.sampling_initial', num(Number(debug.samplingInitial))],
    ['exporters.debug.sampling_thereafter', num(Number(debug.samplingThereafter))],
    ['exporters.file.format', str(file.format)],
    ['exporters.file.append', bool(file.append)],
    ['exporters.file.create_directory', bool(file.createDirectory)],
    ['exporters.file.rotation.max_megabytes', num(Number(rotation.maxMegabytes))],
    ['exporters.file.rotation.max_backups', num(Number(rotation.maxBackups))],
    ['exporters.file.rotation.max_days', num(Number(rotation.maxDays))],
    ['exporters.file.rotation.localtime', bool(Boolean(rotation.localTime))],
    ['exporters.prometheus.path', str(DEFAULT_PROMETHEUS_PATH)],
    ['extensions.file_storage.directory', str(DEFAULT_STORAGE_DIRECTORY)],
    ['extensions.file_storage.create_directory', bool(storage.createDirectory)],
    ['extensions.file_storage.directory_permissions', { kind: 'number', value: storage.directoryPermissions }],
    ['extensions.file_storage.fsync', bool(storage.fsync)],
    ['extensions.file_storage.recreate', bool(storage.recreate)],
    ['service.shutdown_timeout', duration(DEFAULT_SHUTDOWN_TIMEOUT_MS)],
    ['service.telemetry.logs.level', str('info')],
    ['service.telemetry.logs.encoding', str('text')],
  ]);
}

/** The text after `# default ` on a key's line: a [list], or one word without trailing punctuation. */
function documentedDefault(lineText: string): string | undefined {
  const m = /#\s*default\s+(.*)$/.exec(lineText);
  if (!m?.[1]) return undefined;
  const rest = m[1];
  if (rest.startsWith('[')) return rest.slice(0, rest.indexOf(']') + 1);
  return /^(\S+?)[:;,)]?(\s|$)/.exec(rest)?.[1];
}

/** Whether the documented text means the expected value, read as the loader reads that key. */
function means(text: string, e: Expected, path: string): boolean {
  switch (e.kind) {
    case 'duration': {
      const d = parseDuration(text);
      return d.ok && d.value === e.value;
    }
    case 'size': {
      const d = parseSize(text);
      return d.ok && d.value === e.value;
    }
    case 'number':
      // Permissions are written in octal.
      return path.endsWith('directory_permissions') ? Number.parseInt(text, 8) === e.value : Number(text) === e.value;
    case 'bool':
      return text === String(e.value);
    case 'string':
      return text === e.value;
    case 'list':
      return JSON.stringify(text.replace(/^\[|\]$/g, '').split(',').map((s) => s.trim())) === JSON.stringify(e.value);
  }
}

/** Every place the example documents `path` (a component type's key: under any component of that type). */
function documentedAt(path: string): KeyAt[] {
  const parts = path.split('.');
  const component = ['receivers', 'processors', 'exporters', 'extensions'].includes(parts[0]!);
  return DOCUMENTED.filter((k) => {
    if (k.path.length !== parts.length) return false;
    return k.path.every((p, i) => (component && i === 1 ? typeOf(p) === parts[1] : p === parts[i]));
  });
}

// ------------------------------------------------------------ the tests

describe('the shipped configuration files', () => {
  it(`${EXAMPLE_FILE} loads as written, in an empty environment, without warnings`, () => {
    const { config, warnings } = loadOk(EXAMPLE);
    assert.deepEqual(warnings, []);
    assert.ok(config.pipelines.length > 0, 'it has at least one pipeline');
  });

  for (const file of SHIPPED) {
    it(`${file} loads without warnings`, () => {
      const { config, warnings } = loadOk(read(file), { env: SHIPPED_ENV[file] ?? {} });
      assert.deepEqual(warnings, []);
      assert.ok(config.pipelines.length > 0);
    });
  }

  it('config/kata-monitor.yaml (the DaemonSet\'s) pushes OTLP to the collector the standard variable names, and needs the node name', () => {
    const file = read('config/kata-monitor.yaml');
    const { config } = loadOk(file, { env: { K8S_NODE_NAME: 'node-1', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example:4318' } });
    assert.equal(config.receiver.server.listenAddress, '0.0.0.0:8090');
    assert.equal(config.telemetry.logs.encoding, 'json');
    const otlp = config.pipelines[0]?.exporters[0];
    assert.ok(otlp?.type === 'otlphttp');
    assert.equal(otlp.url, 'https://otel.example:4318/v1/metrics');
    assert.match(loadErrors(file).join('\n'), /environment variable "K8S_NODE_NAME" is not set/);
  });

  it('config/kata-monitor.yaml keeps the DaemonSet\'s -listen-address flag in charge', () => {
    const { config } = loadOk(read('config/kata-monitor.yaml'), { env: { K8S_NODE_NAME: 'n' }, argv: ['-listen-address=127.0.0.1:8090'] });
    assert.equal(config.receiver.server.listenAddress, '127.0.0.1:8090');
  });

  it(`${EXAMPLE_FILE} shows a component of every type the code has`, () => {
    const missing: string[] = [];
    for (const [kind, types] of Object.entries(KINDS)) {
      const shown = shownKeys(kind as keyof typeof KINDS);
      for (const type of Object.keys(types)) if (!shown.has(type)) missing.push(`${kind}.${type}`);
    }
    assert.deepEqual(missing, [], `${EXAMPLE_FILE} shows no component of these types`);
  });

  it(`${EXAMPLE_FILE} shows every key of every component type (commented out counts)`, () => {
    const missing: string[] = [];
    for (const [kind, types] of Object.entries(KINDS)) {
      const shown = shownKeys(kind as keyof typeof KINDS);
      for (const [type, tree] of Object.entries(types)) {
        const shownHere = (t: string, p: string): boolean => shown.get(t)?.has(p) === true;
        for (const p of treePaths(tree)) {
          const shared = kind === 'exporters' && OTLP_TYPES.includes(type) && SHARED.has(p);
          const ok = shared ? OTLP_TYPES.some((t) => shownHere(t, p)) : shownHere(type, p);
          if (!ok) missing.push(`${kind}.${shared ? OTLP_TYPES.join(' or ') : type}.${p}`);
        }
      }
    }
    const service = ['service.extensions', 'service.pipelines', 'service.shutdown_timeout', 'service.telemetry.logs.level', 'service.telemetry.logs.encoding', 'service.telemetry.resource'];
    for (const p of service) if (documentedAt(p).length === 0) missing.push(p);
    assert.deepEqual([...new Set(missing)], [], `${EXAMPLE_FILE} does not show these keys`);
  });

  it(`${EXAMPLE_FILE} shows no key the code does not accept (commented out included)`, () => {
    const unknown: string[] = [];
    for (const [kind, types] of Object.entries(KINDS)) {
      for (const [type, keys] of shownKeys(kind as keyof typeof KINDS)) {
        const tree = (types as Record<string, KeyTree>)[type];
        if (!tree) {
          unknown.push(`${kind}.${type} (no such type)`);
          continue;
        }
        for (const [p, at] of keys) if (!inTree(tree, p.split('.'))) unknown.push(`${kind}.${type}.${p} (line ${at[0]?.line})`);
      }
    }
    assert.deepEqual(unknown, []);
  });

  it(`${EXAMPLE_FILE} documents the default the code uses beside every key that has one`, () => {
    const problems: string[] = [];
    for (const [path, expected] of expectedDefaults()) {
      const places = documentedAt(path);
      // The OTLP types share the helper's keys: documented under either counts for both.
      const type = path.split('.')[1] ?? '';
      const shared = path.startsWith('exporters.') && OTLP_TYPES.includes(type) && SHARED.has(path.split('.').slice(2).join('.'));
      const all = shared ? OTLP_TYPES.flatMap((t) => documentedAt(path.replace(`exporters.${type}.`, `exporters.${t}.`))) : places;
      const texts = all.map((k) => ({ k, text: documentedDefault(k.lineText) })).filter((x) => x.text !== undefined);
      const want = Array.isArray(expected.value) ? `[${expected.value.join(', ')}]` : String(expected.value);
      if (texts.length === 0) problems.push(`${path}: no "# default ${want}" comment${all.length === 0 ? ' (the key is not shown)' : ` (line ${all[0]!.line})`}`);
      for (const { k, text } of texts) if (!means(text!, expected, path)) problems.push(`${path} (line ${k.line}): says "default ${text}", the code uses ${want}`);
    }
    assert.deepEqual([...new Set(problems)], [], `${EXAMPLE_FILE}: defaults missing or wrong`);
  });
});
