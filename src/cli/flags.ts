// kata-monitor's command line, parsed the way Go's `flag` package parses it
// (upstream calls flag.Parse with ExitOnError), so existing DaemonSet
// manifests and scripts keep working:
//   -flag=value  -flag value  --flag=value  --flag value
//   -bool  -bool=true|false (never `-bool false`: that stops at "false")
//   parsing stops at the first non-flag argument, at "-" and after "--"
//   -h / -help / --help → usage on stderr, exit 0 (Go ≥ 1.15)
//   an unknown flag or a bad value → the message and usage on stderr, exit 2
// `version` or `--version` as the only argument prints the version block.
// A command word first (`metrics`, `sandboxes`, `validate`) runs that
// one-shot command with the same flags plus its own; without one, the daemon.

import type { ServiceFlags } from '../config/load.ts';
import { goQuote } from '../log/format.ts';
import { parseLogLevel } from '../log/logger.ts';
import { RECEIVER_DEFAULTS, type ReceiverFlagName, type ReceiverFlags } from '../receiver/config.ts';

/** The service's and the receiver's flags, and the commands' own. */
export interface Flags extends ServiceFlags, ReceiverFlags {
  readonly sandbox?: string;
  readonly filterFamily?: readonly string[];
  readonly format: 'text' | 'openmetrics' | 'json';
  readonly output: 'table' | 'json';
  /** Arguments after the flags (upstream ignores them too). */
  readonly args: readonly string[];
}

export type Command = 'metrics' | 'sandboxes' | 'validate';
export const COMMANDS: Readonly<Record<Command, string>> = {
  metrics: 'Scrape every sandbox once and print what /metrics would answer (-sandbox ID: that shim\'s body as it serves it).',
  sandboxes: 'List the sandboxes with their pod and the health of one scrape.',
  validate: 'Check a configuration file (-config FILE) as the daemon would; exit 2 on errors.',
};

export type FlagName = ReceiverFlagName | 'log-level' | 'log-format' | 'config' | 'sandbox' | 'filter-family' | 'format' | 'o';

export type ParseResult =
  | { readonly kind: 'run'; readonly command?: Command; readonly flags: Flags; readonly explicit: ReadonlySet<FlagName> }
  | { readonly kind: 'version' }
  /** Print `text` on stderr and exit 0 (Go's flag.ErrHelp with ExitOnError). */
  | { readonly kind: 'help'; readonly text: string }
  /** Print `message`, a newline and `usage` on stderr, exit 2. */
  | { readonly kind: 'error'; readonly message: string; readonly usage: string; readonly exitCode: 2 };

type Mutable = { -readonly [K in keyof Flags]: Flags[K] };

interface FlagSpec {
  readonly name: FlagName;
  readonly usage: string;
  /** Shown after the name in usage, as Go derives it: a `NAME` in the usage, else "string" (nothing for a bool). */
  readonly typeName?: string;
  readonly defaultText?: string;
  readonly bool?: boolean;
  /** Only for this command. */
  readonly command?: Command;
  /** Returns an error text, Go-style, or nothing. `given`: the flags set before this one. */
  set(flags: Mutable, value: string, given: ReadonlySet<FlagName>): string | void;
}

const SPECS: readonly FlagSpec[] = [
  {
    name: 'config',
    typeName: 'FILE',
    usage: 'YAML configuration in the OpenTelemetry Collector\'s shape (receivers, processors, exporters, service); flags given on the command line override it.',
    set: (f, v) => void (f.config = v),
  },
  {
    name: 'demo',
    bool: true,
    usage: 'Run simulated shims and a simulated CRI server (no Kata host needed).',
    set: (f, v) => setBool(v, (b) => (f.demo = b)),
  },
  {
    name: 'listen-address',
    defaultText: `"${RECEIVER_DEFAULTS.server.listenAddress}"`,
    usage: 'The address to listen on for HTTP requests.',
    set: (f, v) => void (f.listenAddress = v),
  },
  {
    name: 'log-format',
    defaultText: '"text"',
    usage: 'Log format: text (logrus\' text format, as upstream) or json.',
    set: (f, v) => {
      const t = v.trim().toLowerCase();
      if (t !== 'text' && t !== 'json') return `unknown log format "${v}" (use text or json)`;
      f.logFormat = t;
    },
  },
  {
    name: 'log-level',
    defaultText: '"info"',
    usage: 'Log level of logrus(trace/debug/info/warn/error/fatal/panic).',
    set: (f, v) => {
      const level = parseLogLevel(v);
      // logrus.ParseLevel's wording; upstream silently fell back to warn.
      if (!level) return `not a valid logrus Level: "${v}"`;
      f.logLevel = level;
    },
  },
  {
    name: 'openmetrics',
    bool: true,
    usage: 'Answer /metrics in OpenMetrics when the client prefers it (upstream never does; Prometheus would then add _total to counter names).',
    set: (f, v) => setBool(v, (b) => (f.openMetrics = b)),
  },
  {
    name: 'runtime-endpoint',
    defaultText: `"${RECEIVER_DEFAULTS.cri.runtimeEndpoint}"`,
    usage: 'Endpoint of CRI container runtime service.',
    set: (f, v) => void (f.runtimeEndpoint = v),
  },
  {
    name: 'sandbox',
    command: 'metrics',
    typeName: 'ID',
    usage: 'Print this sandbox\'s metrics as its shim serves them (upstream\'s /metrics?sandbox=ID).',
    set: (f, v) => void (f.sandbox = v),
  },
  {
    name: 'filter-family',
    command: 'metrics',
    typeName: 'A,B',
    usage: 'Only the sandbox families whose name starts with one of these prefixes (as /metrics?filter_family=).',
    set: (f, v) => void (f.filterFamily = v.split(',').filter((x) => x !== '')),
  },
  {
    name: 'format',
    command: 'metrics',
    defaultText: '"text"',
    usage: 'text (Prometheus text 0.0.4), openmetrics or json.',
    set: (f, v) => {
      if (v !== 'text' && v !== 'openmetrics' && v !== 'json') return `unknown format "${v}" (use text, openmetrics or json)`;
      f.format = v;
    },
  },
  {
    name: 'o',
    command: 'sandboxes',
    defaultText: '"table"',
    usage: 'table or json.',
    set: (f, v) => {
      if (v !== 'table' && v !== 'json') return `unknown output "${v}" (use table or json)`;
      f.output = v;
    },
  },
  {
    name: 'sandbox-root',
    typeName: 'DIR',
    defaultText: RECEIVER_DEFAULTS.discovery.sandboxRoots.join(' and '),
    usage: 'A directory holding one directory per sandbox; repeat the flag for several (the first given replaces the defaults).',
    set: (f, v, given) => {
      if (v === '') return 'empty directory';
      f.sandboxRoots = given.has('sandbox-root') ? [...f.sandboxRoots, v] : [v];
    },
  },
];

/** The receiver's flags default to its config's defaults. */
export function defaultFlags(): Flags {
  const { server, cri, discovery, demo } = RECEIVER_DEFAULTS;
  return {
    listenAddress: server.listenAddress,
    runtimeEndpoint: cri.runtimeEndpoint,
    logLevel: 'info',
    logFormat: 'text',
    sandboxRoots: discovery.sandboxRoots,
    demo,
    openMetrics: server.openMetrics,
    format: 'text',
    output: 'table',
    args: [],
  };
}

/** `argv` without the node binary and script (process.argv.slice(2)). */
export function parseFlags(argv: readonly string[], programName = 'kata-monitor'): ParseResult {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === 'version')) return { kind: 'version' };
  const first = argv[0];
  const command = first !== undefined && Object.hasOwn(COMMANDS, first) ? (first as Command) : undefined;
  if (first === 'help') return { kind: 'help', text: usage(programName) };

  const flags: Mutable = { ...defaultFlags() };
  const explicit = new Set<FlagName>();
  const fail = (message: string): ParseResult => ({ kind: 'error', message, usage: usage(programName, command), exitCode: 2 });

  let i = command ? 1 : 0;
  while (i < argv.length) {
    const s = argv[i] ?? '';
    if (s.length < 2 || s[0] !== '-') break; // first non-flag argument (or "-")
    i++;
    if (s === '--') break;
    // -name or --name, then =value or not; a name that starts with - or = is bad syntax, as in Go.
    const m = /^--?([^-=][^=]*)(?:=(.*))?$/s.exec(s);
    if (!m) return fail(`bad flag syntax: ${s}`);
    const [, name = ''] = m;
    let value = m[2];
    const spec = SPECS.find((s) => s.name === name);
    if (!spec || (spec.command !== undefined && spec.command !== command)) {
      if (name === 'help' || name === 'h') return { kind: 'help', text: usage(programName, command) };
      return fail(`flag provided but not defined: -${name}`);
    }
    if (spec.bool) value ??= 'true';
    else if (value === undefined) {
      if (i >= argv.length) return fail(`flag needs an argument: -${name}`);
      value = argv[i++] ?? '';
    }
    const err = spec.set(flags, value, explicit);
    if (err) return fail(spec.bool ? `invalid boolean value "${value}" for -${name}: ${err}` : `invalid value ${goQuote(value)} for flag -${name}: ${err}`);
    explicit.add(spec.name);
  }
  flags.args = argv.slice(i);
  if (command === 'validate' && flags.config === undefined) return fail('validate needs -config FILE');
  return command ? { kind: 'run', command, flags, explicit } : { kind: 'run', flags, explicit };
}

// strconv.ParseBool's accepted spellings; Go's error text is "parse error".
function setBool(v: string, apply: (b: boolean) => void): string | void {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) apply(true);
  else if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) apply(false);
  else return 'parse error';
}

/** Go's flag.PrintDefaults layout, flags sorted by name; the commands after the daemon's flags. */
export function usage(programName = 'kata-monitor', command?: Command): string {
  let out = command ? `Usage of ${programName} ${command}: ${COMMANDS[command]}\n` : `Usage of ${programName}:\n`;
  for (const spec of [...SPECS].sort((a, b) => a.name.localeCompare(b.name))) {
    if (spec.command !== undefined && spec.command !== command) continue;
    out += `  -${spec.name}`;
    if (!spec.bool) out += ` ${spec.typeName ?? 'string'}`;
    out += `\n    \t${spec.usage}`;
    if (spec.defaultText) out += ` (default ${spec.defaultText})`;
    out += '\n';
  }
  if (!command) {
    out += `\nWithout a command, ${programName} is the daemon. Commands (a node without a running daemon; same flags, plus their own):\n`;
    for (const [name, text] of Object.entries(COMMANDS)) out += `  ${name}\n    \t${text}\n`;
    out += `  version\n    \tPrint the version.\nExit codes: 0 done, 1 failed at run time, 2 a bad flag or configuration.\n`;
  }
  return out;
}

// Go's GOARCH names, so inventory scripts parsing "OS/Arch" see the same values.
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** Upstream's version template, with the Node version in the Go version's place. */
export function formatVersion(info: { readonly version: string } & Partial<Record<'gitCommit' | 'nodeVersion' | 'os' | 'arch', string>>): string {
  const arch = info.arch ?? GOARCH[process.arch] ?? process.arch;
  return (
    'kata-monitor\n' +
    ` Version:\t${info.version}\n` +
    ` Node version:\t${info.nodeVersion ?? process.version}\n` +
    ` Git commit:\t${info.gitCommit ?? 'unknown-commit'}\n` +
    ` OS/Arch:\t${info.os ?? process.platform}/${arch}\n`
  );
}
