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
import { DEFAULT_LISTEN_ADDRESS, DEFAULT_RUNTIME_ENDPOINT, DEFAULT_SANDBOX_ROOTS, type ReceiverFlagName, type ReceiverFlags } from '../receiver/config.ts';

/** The service's and the receiver's flags, and the commands' own. */
export interface Flags extends ServiceFlags, ReceiverFlags {
  /** `metrics`: one sandbox's body as its shim serves it. */
  readonly sandbox?: string;
  /** `metrics`: only the sandbox families starting with one of these prefixes. */
  readonly filterFamily?: readonly string[];
  /** `metrics`: text (default), openmetrics or json. */
  readonly format: 'text' | 'openmetrics' | 'json';
  /** `sandboxes`: table (default) or json. */
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
  /** Shown after the name in usage, as Go derives it ("string", or a `NAME` in the usage). */
  readonly typeName?: string;
  readonly defaultText?: string;
  readonly bool?: boolean;
  /** Only for this command. */
  readonly command?: Command;
  /** Returns an error text, Go-style, or nothing. `given`: the flags set before this one. */
  set(flags: Mutable, value: string, given: ReadonlySet<FlagName>): string | undefined;
}

const SPECS: readonly FlagSpec[] = [
  {
    name: 'config',
    typeName: 'FILE',
    usage: 'YAML configuration in the OpenTelemetry Collector\'s shape (receivers, processors, exporters, service); flags given on the command line override it.',
    set: (f, v) => {
      f.config = v;
      return undefined;
    },
  },
  {
    name: 'demo',
    bool: true,
    usage: 'Run simulated shims and a simulated CRI server (no Kata host needed).',
    set: (f, v) => setBool(v, (b) => (f.demo = b)),
  },
  {
    name: 'listen-address',
    typeName: 'string',
    defaultText: `"${DEFAULT_LISTEN_ADDRESS}"`,
    usage: 'The address to listen on for HTTP requests.',
    set: (f, v) => {
      f.listenAddress = v;
      return undefined;
    },
  },
  {
    name: 'log-format',
    typeName: 'string',
    defaultText: '"text"',
    usage: 'Log format: text (logrus\' text format, as upstream) or json.',
    set: (f, v) => {
      const t = v.trim().toLowerCase();
      if (t !== 'text' && t !== 'json') return `unknown log format "${v}" (use text or json)`;
      f.logFormat = t;
      return undefined;
    },
  },
  {
    name: 'log-level',
    typeName: 'string',
    defaultText: '"info"',
    usage: 'Log level of logrus(trace/debug/info/warn/error/fatal/panic).',
    set: (f, v) => {
      const level = parseLogLevel(v);
      // logrus.ParseLevel's wording; upstream silently fell back to warn.
      if (!level) return `not a valid logrus Level: "${v}"`;
      f.logLevel = level;
      return undefined;
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
    typeName: 'string',
    defaultText: `"${DEFAULT_RUNTIME_ENDPOINT}"`,
    usage: 'Endpoint of CRI container runtime service.',
    set: (f, v) => {
      f.runtimeEndpoint = v;
      return undefined;
    },
  },
  {
    name: 'sandbox',
    command: 'metrics',
    typeName: 'ID',
    usage: 'Print this sandbox\'s metrics as its shim serves them (upstream\'s /metrics?sandbox=ID).',
    set: (f, v) => {
      f.sandbox = v;
      return undefined;
    },
  },
  {
    name: 'filter-family',
    command: 'metrics',
    typeName: 'A,B',
    usage: 'Only the sandbox families whose name starts with one of these prefixes (as /metrics?filter_family=).',
    set: (f, v) => {
      f.filterFamily = v.split(',').filter((x) => x !== '');
      return undefined;
    },
  },
  {
    name: 'format',
    command: 'metrics',
    typeName: 'string',
    defaultText: '"text"',
    usage: 'text (Prometheus text 0.0.4), openmetrics or json.',
    set: (f, v) => {
      if (v !== 'text' && v !== 'openmetrics' && v !== 'json') return `unknown format "${v}" (use text, openmetrics or json)`;
      f.format = v;
      return undefined;
    },
  },
  {
    name: 'o',
    command: 'sandboxes',
    typeName: 'string',
    defaultText: '"table"',
    usage: 'table or json.',
    set: (f, v) => {
      if (v !== 'table' && v !== 'json') return `unknown output "${v}" (use table or json)`;
      f.output = v;
      return undefined;
    },
  },
  {
    name: 'sandbox-root',
    typeName: 'DIR',
    defaultText: DEFAULT_SANDBOX_ROOTS.join(' and '),
    usage: 'A directory holding one directory per sandbox; repeat the flag for several (the first given replaces the defaults).',
    set: (f, v, given) => {
      if (v === '') return 'empty directory';
      f.sandboxRoots = given.has('sandbox-root') ? [...f.sandboxRoots, v] : [v];
      return undefined;
    },
  },
];

const BY_NAME = new Map(SPECS.map((s) => [s.name as string, s]));

export function defaultFlags(): Flags {
  return {
    listenAddress: DEFAULT_LISTEN_ADDRESS,
    runtimeEndpoint: DEFAULT_RUNTIME_ENDPOINT,
    logLevel: 'info',
    logFormat: 'text',
    sandboxRoots: DEFAULT_SANDBOX_ROOTS,
    demo: false,
    openMetrics: false,
    format: 'text',
    output: 'table',
    args: [],
  };
}

/** `argv` without the node binary and script (process.argv.slice(2)). */
export function parseFlags(argv: readonly string[], programName = 'kata-monitor'): ParseResult {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === 'version')) return { kind: 'version' };
  const first = argv[0];
  const command = first !== undefined && first in COMMANDS ? (first as Command) : undefined;
  if (first === 'help') return { kind: 'help', text: usage(programName) };

  const flags: Mutable = { ...defaultFlags() };
  const explicit = new Set<FlagName>();
  const fail = (message: string): ParseResult => ({ kind: 'error', message, usage: usage(programName, command), exitCode: 2 });

  let i = command ? 1 : 0;
  while (i < argv.length) {
    const s = argv[i] ?? '';
    if (s.length < 2 || s[0] !== '-') break; // first non-flag argument (or "-")
    let minuses = 1;
    if (s[1] === '-') {
      minuses = 2;
      if (s.length === 2) {
        i++; // "--" ends the flags
        break;
      }
    }
    let name = s.slice(minuses);
    if (name === '' || name[0] === '-' || name[0] === '=') return fail(`bad flag syntax: ${s}`);
    i++;
    let value: string | undefined;
    const eq = name.indexOf('=', 1);
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = BY_NAME.get(name);
    if (!spec || (spec.command !== undefined && spec.command !== command)) {
      if (name === 'help' || name === 'h') return { kind: 'help', text: usage(programName, command) };
      return fail(`flag provided but not defined: -${name}`);
    }
    if (spec.bool) {
      const err = spec.set(flags, value ?? 'true', explicit);
      if (err) return fail(`invalid boolean value "${value}" for -${name}: ${err}`);
    } else {
      if (value === undefined) {
        if (i >= argv.length) return fail(`flag needs an argument: -${name}`);
        value = argv[i] ?? '';
        i++;
      }
      const err = spec.set(flags, value, explicit);
      if (err) return fail(`invalid value ${goQuote(value)} for flag -${name}: ${err}`);
    }
    explicit.add(spec.name);
  }
  flags.args = argv.slice(i);
  if (command === 'validate' && flags.config === undefined) return fail('validate needs -config FILE');
  return command ? { kind: 'run', command, flags, explicit } : { kind: 'run', flags, explicit };
}

// strconv.ParseBool's accepted spellings; Go's error text is "parse error".
function setBool(v: string, apply: (b: boolean) => void): string | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) apply(true);
  else if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) apply(false);
  else return 'parse error';
  return undefined;
}

/** Go's flag.PrintDefaults layout, flags sorted by name; the commands after the daemon's flags. */
export function usage(programName = 'kata-monitor', command?: Command): string {
  let out = command ? `Usage of ${programName} ${command}: ${COMMANDS[command]}\n` : `Usage of ${programName}:\n`;
  for (const spec of [...SPECS].sort((a, b) => a.name.localeCompare(b.name))) {
    if (spec.command !== undefined && spec.command !== command) continue;
    out += `  -${spec.name}`;
    if (spec.typeName) out += ` ${spec.typeName}`;
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

export interface VersionInfo {
  readonly appName?: string;
  readonly version: string;
  readonly gitCommit?: string;
  readonly nodeVersion?: string;
  readonly os?: string;
  readonly arch?: string;
}

// Go's GOARCH names, so inventory scripts parsing "OS/Arch" see the same values.
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** Upstream's version template, with the Node version in the Go version's place. */
export function formatVersion(info: VersionInfo): string {
  const arch = info.arch ?? GOARCH[process.arch] ?? process.arch;
  return (
    `${info.appName ?? 'kata-monitor'}\n` +
    ` Version:\t${info.version}\n` +
    ` Node version:\t${info.nodeVersion ?? process.version}\n` +
    ` Git commit:\t${info.gitCommit ?? 'unknown-commit'}\n` +
    ` OS/Arch:\t${info.os ?? process.platform}/${arch}\n`
  );
}
