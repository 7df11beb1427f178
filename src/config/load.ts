// The YAML file (OpenTelemetry Collector shape) + kata-monitor's flags → the
// resolved Config. Precedence: a flag given on the command line, then the
// file, then the default. Without --config the result is upstream's daemon:
// defaults and flags, no pipelines.

import { LineCounter, parseDocument } from 'yaml';
import type { FlagName, Flags } from '../cli/flags.ts';
import { parseLogLevel, type LogFormat, type LogLevel } from '../log/logger.ts';
import { DEFAULTS } from './defaults.ts';
import type { Env } from './env.ts';
import { Reader, suggest, type Entries, type Field } from './reader.ts';
import { EXPORTER_KEYS, PIPELINE_KEYS, PROCESSOR_KEYS, RECEIVER_KEYS, SERVICE_KEYS, TOP_KEYS } from './schema.ts';
import type {
  AuthConfig,
  Config,
  ExporterConfig,
  FilterMatch,
  KataMonitorReceiverConfig,
  PipelineConfig,
  ProcessorConfig,
  TelemetryConfig,
  TlsConfig,
} from './types.ts';

export interface LoadOptions {
  readonly flags: Flags;
  /** Flags given on the command line; they win over the file. */
  readonly explicitFlags: ReadonlySet<FlagName | string>;
  readonly env: Env;
  /** Reads `flags.config`; may throw (the message is reported). */
  readonly readFile: (path: string) => string;
}

export type LoadResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: string[] };

export const RECEIVER_TYPE = 'kata_monitor';

/** kata-monitor's own routes: a prometheus exporter may not take them. */
const RESERVED_PATHS = ['/', '/metrics', '/sandboxes', '/agent-url', '/debug/vars', '/debug/pprof/'];

export function loadConfig(options: LoadOptions): LoadResult {
  const file = options.flags.config;
  if (file === undefined) return parseConfig('', options);
  let text: string;
  try {
    text = options.readFile(file);
  } catch (err) {
    return { ok: false, errors: [`config error: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`] };
  }
  return parseConfig(text, options);
}

/** The file's text → Config; '' gives the defaults + flags. */
export function parseConfig(text: string, options: Pick<LoadOptions, 'flags' | 'explicitFlags' | 'env'>): LoadResult {
  const lines = new LineCounter();
  // failsafe: every scalar a string, typed per key after substitution.
  const doc = parseDocument(text, { schema: 'failsafe', lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return `config error: invalid YAML (line ${pos.line}, column ${pos.col}): ${e.message.split('\n')[0]}`;
      }),
    };
  }
  const r = new Reader(doc, lines, options.env);
  for (const w of doc.warnings) r.warnings.push(`config warning: YAML (line ${lines.linePos(w.pos[0]).line}): ${w.message.split('\n')[0]}`);

  const pick = makePick(options.explicitFlags);
  const top = r.map(r.root(), TOP_KEYS) ?? r.map({ path: '', line: 1, node: null })!;
  const receiver = readReceivers(r, top.get('receivers'), pick, options.flags);
  const processors = readComponents(r, top.get('processors'), 'processor', Object.keys(PROCESSOR_KEYS), readProcessor);
  const exporters = readComponents(r, top.get('exporters'), 'exporter', Object.keys(EXPORTER_KEYS), readExporter);
  const extensions = r.map(top.get('extensions'));
  for (const { field } of extensions?.all() ?? []) r.warn(field, 'extensions are not supported; ignored');
  const service = r.map(top.get('service'), SERVICE_KEYS);
  const pipelines = service ? readPipelines(r, service, processors, exporters) : [];
  if (service) readServiceExtensions(r, service.get('extensions'), extensions);
  const telemetry = readTelemetry(r, service?.get('telemetry'), pick, options.flags);
  checkPrometheusPaths(r, exporters);

  if (r.errors.length > 0 || !receiver) return { ok: false, errors: byLine(r.errors) };
  const demo = pick('demo', receiver.demo, options.flags.demo, DEFAULTS.demo);
  const shutdownTimeoutMs = (service && r.duration(service.get('shutdown_timeout'), 0)) ?? DEFAULTS.shutdownTimeoutMs;
  if (r.errors.length > 0) return { ok: false, errors: byLine(r.errors) };
  return { ok: true, config: { receiver: receiver.config, pipelines, telemetry, demo, shutdownTimeoutMs }, warnings: byLine(r.warnings) };
}

// Messages are collected section by section; a reader wants them in file order.
function byLine(messages: readonly string[]): string[] {
  const line = (m: string): number => Number(/\(line (\d+)/.exec(m)?.[1] ?? 0);
  return [...messages].sort((a, b) => line(a) - line(b));
}

interface Choose {
  <T>(flag: FlagName, fromFile: T | undefined, fromFlag: T, fallback: T): T;
  explicit(flag: FlagName): boolean;
}

// A flag given on the command line wins; otherwise the file; otherwise the
// flag's value, which then is its default (and equals `fallback`).
function makePick(explicit: ReadonlySet<string>): Choose {
  const pick = <T,>(flag: FlagName, fromFile: T | undefined, fromFlag: T, fallback: T): T =>
    explicit.has(flag) ? fromFlag : (fromFile ?? fromFlag ?? fallback);
  return Object.assign(pick, { explicit: (flag: FlagName) => explicit.has(flag) });
}

// ---------------------------------------------------------------- receivers

interface ReceiverResult {
  readonly config: KataMonitorReceiverConfig;
  readonly demo: boolean | undefined;
}

function readReceivers(r: Reader, field: Field, pick: Choose, flags: Flags): ReceiverResult | undefined {
  const receivers = r.map(field);
  let km: Entries | undefined;
  for (const { key, field: f } of receivers?.all() ?? []) {
    if (key === RECEIVER_TYPE) km = r.map(f, RECEIVER_KEYS);
    else if (key.startsWith(`${RECEIVER_TYPE}/`)) r.error(f, `only one ${RECEIVER_TYPE} receiver is supported; name it "${RECEIVER_TYPE}"`);
    else unknownType(r, f, 'receiver', key, [RECEIVER_TYPE]);
  }
  const m = km ?? r.map({ path: `receivers.${RECEIVER_TYPE}`, line: field.line, node: null }, RECEIVER_KEYS)!;
  const before = r.errors.length;

  const listenAddress = pick('listen-address', r.string(m.get('listen_address')), flags.listenAddress, DEFAULTS.listenAddress);
  checkListenAddress(r, m.get('listen_address'), 'listen-address', listenAddress, pick);
  const runtimeEndpoint = pick('runtime-endpoint', r.string(m.get('runtime_endpoint')), flags.runtimeEndpoint, DEFAULTS.runtimeEndpoint);
  checkRuntimeEndpoint(r, m.get('runtime_endpoint'), runtimeEndpoint, pick);
  const roots = readSandboxRoots(r, m.get('sandbox_roots'));
  const sandboxRoots = pick('sandbox-root', roots, flags.sandboxRoots, DEFAULTS.sandboxRoots);
  const openMetrics = pick('openmetrics', r.bool(m.get('openmetrics')), flags.openMetrics, DEFAULTS.openMetrics);

  const cri = r.map(m.get('cri'), RECEIVER_KEYS.cri);
  const shim = r.map(m.get('shim'), RECEIVER_KEYS.shim);
  const config: KataMonitorReceiverConfig = {
    server: {
      listenAddress,
      ...optional('tls', readTls(r, m.get('tls'))),
      ...optional('auth', readAuth(r, m.get('auth'))),
      openMetrics,
      gzipLevel: r.int(m.get('gzip_level'), 1, 9) ?? DEFAULTS.gzipLevel,
    },
    discovery: {
      sandboxRoots,
      rootRetryIntervalMs: r.duration(m.get('root_retry_interval'), 1) ?? DEFAULTS.rootRetryIntervalMs,
    },
    cri: {
      runtimeEndpoint,
      timeoutMs: (cri && r.duration(cri.get('timeout'), 1)) ?? DEFAULTS.criTimeoutMs,
      resyncIntervalMs: (cri && r.duration(cri.get('resync_interval'), 1)) ?? DEFAULTS.criResyncIntervalMs,
      firstLookupDelayMs: (cri && r.duration(cri.get('first_lookup_delay'), 0)) ?? DEFAULTS.criFirstLookupDelayMs,
    },
    shim: {
      timeoutMs: (shim && r.duration(shim.get('timeout'), 1)) ?? DEFAULTS.shimTimeoutMs,
      maxBodyBytes: (shim && r.size(shim.get('max_body_bytes'), 1)) ?? DEFAULTS.shimMaxBodyBytes,
      concurrency: (shim && r.int(shim.get('concurrency'), 1)) ?? DEFAULTS.shimConcurrency,
    },
    collectionIntervalMs: r.duration(m.get('collection_interval'), 1) ?? DEFAULTS.collectionIntervalMs,
  };
  const demo = r.bool(m.get('demo'));
  return r.errors.length > before ? undefined : { config, demo };
}

function readSandboxRoots(r: Reader, field: Field): string[] | undefined {
  const roots = r.strings(field);
  if (roots === undefined) return undefined;
  if (roots.length === 0) r.error(field, 'at least one sandbox root is needed');
  const seen = new Set<string>();
  for (const root of roots) {
    if (root.trim() === '') r.error(field, 'a sandbox root must not be empty');
    else if (seen.has(root)) r.error(field, `"${root}" is listed twice`);
    seen.add(root);
  }
  return roots;
}

function readTls(r: Reader, field: Field): TlsConfig | undefined {
  const m = r.map(field, RECEIVER_KEYS.tls);
  if (!m || r.isNull(field)) return undefined;
  const certFile = r.string(m.get('cert_file'), { nonEmpty: true });
  const keyFile = r.string(m.get('key_file'), { nonEmpty: true });
  if (!m.has('cert_file')) r.error(m.get('cert_file'), 'required when tls is set');
  if (!m.has('key_file')) r.error(m.get('key_file'), 'required when tls is set');
  return certFile && keyFile ? { certFile, keyFile } : undefined;
}

function readAuth(r: Reader, field: Field): AuthConfig | undefined {
  const m = r.map(field, RECEIVER_KEYS.auth);
  if (!m || r.isNull(field)) return undefined;
  if (m.has('basic') && m.has('bearer')) {
    r.error(field, 'set either basic or bearer, not both');
    return undefined;
  }
  if (m.has('basic')) {
    const basic = r.map(m.get('basic'), RECEIVER_KEYS.auth.basic);
    if (!basic) return undefined;
    const username = required(r, basic, 'username');
    const password = required(r, basic, 'password');
    if (username?.includes(':')) r.error(basic.get('username'), 'must not contain ":" (it separates user and password in Basic auth)');
    return username !== undefined && password !== undefined ? { type: 'basic', username, password } : undefined;
  }
  if (m.has('bearer')) {
    const bearer = r.map(m.get('bearer'), RECEIVER_KEYS.auth.bearer);
    const token = bearer && required(r, bearer, 'token');
    return token !== undefined ? { type: 'bearer', token } : undefined;
  }
  r.error(field, 'set basic (username, password) or bearer (token)');
  return undefined;
}

function required(r: Reader, m: Entries, key: string): string | undefined {
  if (!m.has(key)) {
    r.error(m.get(key), 'required');
    return undefined;
  }
  return r.string(m.get(key), { nonEmpty: true });
}

function checkListenAddress(r: Reader, field: Field, flag: FlagName, value: string, pick: Choose): void {
  const problem = listenAddressProblem(value);
  if (!problem) return;
  // Blame the flag when the value came from it.
  if (pick.explicit(flag)) r.errors.push(`config error: flag -${flag}: ${problem}`);
  else r.error(field, problem);
}

/** host:port as Go's net.Listen takes it: ":8090", "0.0.0.0:8090", "[::1]:8090". */
export function listenAddressProblem(value: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.%a-zA-Z]+\]|[^:[\]]*):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) return `invalid listen address "${value}" (expected host:port, e.g. 127.0.0.1:8090 or :8090)`;
  return undefined;
}

function checkRuntimeEndpoint(r: Reader, field: Field, value: string, pick: Choose): void {
  const problem = runtimeEndpointProblem(value);
  if (!problem) return;
  if (pick.explicit('runtime-endpoint')) r.errors.push(`config error: flag -runtime-endpoint: ${problem}`);
  else r.error(field, problem);
}

/** unix:///path, tcp://host:port, or a bare path (upstream accepts it with a deprecation warning). */
export function runtimeEndpointProblem(value: string): string | undefined {
  if (value.trim() === '') return 'the runtime endpoint must not be empty';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
  if (!scheme) return undefined;
  const rest = value.slice(scheme[0].length);
  if (scheme[1] === 'unix') return rest.startsWith('/') ? undefined : `invalid runtime endpoint "${value}": unix:// needs an absolute path`;
  if (scheme[1] === 'tcp') return /^[^/]+:\d+\/?$/.test(rest) ? undefined : `invalid runtime endpoint "${value}": tcp:// needs host:port`;
  return `invalid runtime endpoint "${value}": protocol "${scheme[1]}" not supported (use unix:// or tcp://)`;
}

// --------------------------------------------------------------- components

interface Component<T> {
  readonly id: string;
  readonly field: Field;
  /** Undefined when its section had errors: still "defined" for references. */
  readonly config: T | undefined;
}

function readComponents<T>(
  r: Reader,
  field: Field,
  kind: string,
  types: readonly string[],
  read: (r: Reader, type: string, id: string, field: Field) => T | undefined,
): Map<string, Component<T>> {
  const out = new Map<string, Component<T>>();
  for (const { key: id, field: f } of r.map(field)?.all() ?? []) {
    const type = componentType(r, f, kind, id);
    if (type === undefined) continue;
    if (!types.includes(type)) {
      unknownType(r, f, kind, type, types);
      continue;
    }
    const before = r.errors.length;
    const config = read(r, type, id, f);
    out.set(id, { id, field: f, config: r.errors.length > before ? undefined : config });
  }
  return out;
}

/** `type[/name]`, as the collector's component ids. */
function componentType(r: Reader, field: Field, kind: string, id: string): string | undefined {
  const m = /^([A-Za-z][0-9A-Za-z_]{0,62})(?:\/(.+))?$/.exec(id);
  if (!m || (id.includes('/') && !m[2]?.trim())) {
    r.error(field, `invalid ${kind} id "${id}" (expected type or type/name)`);
    return undefined;
  }
  return m[1];
}

function unknownType(r: Reader, field: Field, kind: string, type: string, types: readonly string[]): void {
  const hint = suggest(type, types);
  r.error(field, `unknown ${kind} type "${type}"${hint ? ` (did you mean "${hint}"?)` : ''}; supported: ${types.join(', ')}`);
}

function readProcessor(r: Reader, type: string, id: string, field: Field): ProcessorConfig | undefined {
  if (type === 'filter') {
    const m = r.map(field, PROCESSOR_KEYS.filter);
    if (!m) return undefined;
    const include = readFilterMatch(r, m.get('include'));
    const exclude = readFilterMatch(r, m.get('exclude'));
    if (!m.has('include') && !m.has('exclude')) r.error(field, 'a filter needs include or exclude');
    return { type, name: id, ...optional('include', include), ...optional('exclude', exclude) };
  }
  if (type === 'resource') {
    const m = r.map(field, PROCESSOR_KEYS.resource);
    if (!m) return undefined;
    const items = r.list(m.get('attributes')) ?? [];
    if (items.length === 0) r.error(m.get('attributes'), 'a resource processor needs at least one attribute action');
    const attributes = items.map((item) => {
      const a = r.map(item, PROCESSOR_KEYS.resource.attributes);
      if (!a) return undefined;
      const key = required(r, a, 'key');
      if (!a.has('action')) r.error(a.get('action'), 'required (insert, update, upsert or delete)');
      const action = r.oneOf(a.get('action'), ['insert', 'update', 'upsert', 'delete'] as const);
      const value = r.scalar(a.get('value'));
      if (action !== undefined && action !== 'delete' && value === undefined) r.error(a.get('value'), `required for action "${action}"`);
      if (action === 'delete' && a.has('value')) r.warn(a.get('value'), 'ignored for action "delete"');
      return key !== undefined && action !== undefined ? { key, action, ...optional('value', action === 'delete' ? undefined : value) } : undefined;
    });
    return { type, name: id, attributes: attributes.filter((a) => a !== undefined) };
  }
  const m = r.map(field, PROCESSOR_KEYS.batch);
  if (!m) return undefined;
  return { type: 'batch', name: id, sendBatchMaxSize: r.int(m.get('send_batch_max_size'), 0) ?? DEFAULTS.batchSendMaxSize };
}

function readFilterMatch(r: Reader, field: Field): FilterMatch | undefined {
  const m = r.map(field, PROCESSOR_KEYS.filter.include);
  if (!m || r.isNull(field)) return undefined;
  const before = r.errors.length;
  const prefixes = r.strings(m.get('prefixes')) ?? [];
  const regexps: RegExp[] = [];
  for (const item of r.list(m.get('regexps')) ?? []) {
    const source = r.string(item, { nonEmpty: true });
    if (source === undefined) continue;
    const re = compileRegexp(source);
    if (typeof re === 'string') r.error(item, `invalid regular expression "${source}": ${re}`);
    else regexps.push(re);
  }
  if (prefixes.length === 0 && regexps.length === 0 && r.errors.length === before) r.error(field, 'needs prefixes or regexps');
  return { prefixes, regexps };
}

// JavaScript syntax, unanchored (like the collector's regexp match). A leading
// Go/RE2 flag group such as (?i) becomes a JavaScript flag.
function compileRegexp(source: string): RegExp | string {
  const flags = /^\(\?([ims]+)\)/.exec(source);
  try {
    return flags ? new RegExp(source.slice(flags[0].length), [...new Set(flags[1])].join('')) : new RegExp(source);
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(err);
  }
}

function readExporter(r: Reader, type: string, id: string, field: Field): ExporterConfig | undefined {
  if (type === 'prometheus') {
    const m = r.map(field, EXPORTER_KEYS.prometheus);
    if (!m) return undefined;
    const path = r.string(m.get('path'), { nonEmpty: true }) ?? DEFAULTS.prometheusPath;
    if (!path.startsWith('/')) r.error(m.get('path'), `must start with "/", got "${path}"`);
    else if (RESERVED_PATHS.includes(path) || path.startsWith('/debug/')) r.error(m.get('path'), `"${path}" is one of kata-monitor's own endpoints`);
    return { type, name: id, path };
  }
  const keys = EXPORTER_KEYS.otlphttp;
  const m = r.map(field, keys);
  if (!m) return undefined;
  const endpoint = readEndpoint(r, m);
  const headers: Record<string, string> = {};
  for (const { key, field: f } of r.map(m.get('headers'))?.all() ?? []) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) r.error(f, `invalid HTTP header name "${key}"`);
    const v = r.string(f);
    if (v !== undefined && /[\r\n]/.test(v)) r.error(f, 'a header value must not contain a line break');
    else if (v !== undefined) headers[key] = v;
  }
  const retry = r.map(m.get('retry_on_failure'), keys.retry_on_failure);
  const initialIntervalMs = (retry && r.duration(retry.get('initial_interval'), 1)) ?? DEFAULTS.retryInitialIntervalMs;
  const maxIntervalMs = (retry && r.duration(retry.get('max_interval'), 1)) ?? DEFAULTS.retryMaxIntervalMs;
  if (retry && maxIntervalMs < initialIntervalMs) r.error(retry.get('max_interval'), `must not be less than initial_interval (${initialIntervalMs}ms)`);
  const queue = r.map(m.get('sending_queue'), keys.sending_queue);
  // Keys the environment may supply stay absent when the file does not set them.
  return {
    type: 'otlphttp',
    name: id,
    ...optional('endpoint', endpoint),
    ...optional('encoding', r.oneOf(m.get('encoding'), ['proto', 'json'] as const)),
    ...optional('compression', r.oneOf(m.get('compression'), ['gzip', 'none'] as const)),
    headers,
    ...optional('timeoutMs', r.duration(m.get('timeout'), 1)),
    retry: {
      enabled: (retry && r.bool(retry.get('enabled'))) ?? DEFAULTS.retryEnabled,
      initialIntervalMs,
      maxIntervalMs,
      maxElapsedMs: (retry && r.duration(retry.get('max_elapsed_time'), 0)) ?? DEFAULTS.retryMaxElapsedMs,
    },
    queue: {
      enabled: (queue && r.bool(queue.get('enabled'))) ?? DEFAULTS.queueEnabled,
      sizer: (queue && r.oneOf(queue.get('sizer'), ['requests', 'items'] as const)) ?? DEFAULTS.queueSizer,
      size: (queue && r.int(queue.get('queue_size'), 1)) ?? DEFAULTS.queueSize,
      dropPolicy: (queue && r.oneOf(queue.get('drop_policy'), ['oldest', 'newest'] as const)) ?? DEFAULTS.queueDropPolicy,
    },
  };
}

// As the collector's otlphttp exporter: `endpoint` is a base URL that gets
// /v1/metrics appended; `metrics_endpoint` is used as written. Neither:
// undefined, and the exporter takes OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT or
// the default (http://localhost:4318/v1/metrics).
function readEndpoint(r: Reader, m: Entries): string | undefined {
  const full = r.string(m.get('metrics_endpoint'), { nonEmpty: true });
  const base = r.string(m.get('endpoint'), { nonEmpty: true });
  if (full !== undefined) {
    if (base !== undefined) r.warn(m.get('endpoint'), 'ignored: metrics_endpoint is set');
    return checkUrl(r, m.get('metrics_endpoint'), full);
  }
  if (base === undefined) return undefined;
  const url = checkUrl(r, m.get('endpoint'), base);
  if (url === undefined) return undefined;
  const u = new URL(url);
  if (u.pathname.endsWith('/v1/metrics')) {
    r.warn(m.get('endpoint'), 'already ends with /v1/metrics: used as is (endpoint is a base URL; write metrics_endpoint for a full one)');
    return url;
  }
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/metrics`;
  return u.toString();
}

function checkUrl(r: Reader, field: Field, text: string): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    r.error(field, `invalid URL "${text}" (expected http://host:port or https://host:port)`);
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    r.error(field, `invalid URL "${text}": the scheme must be http or https`);
    return undefined;
  }
  return text;
}

function checkPrometheusPaths(r: Reader, exporters: ReadonlyMap<string, Component<ExporterConfig>>): void {
  const seen = new Map<string, string>();
  for (const { id, field, config } of exporters.values()) {
    if (config?.type !== 'prometheus') continue;
    const other = seen.get(config.path);
    if (other) r.error(field, `path "${config.path}" is already served by exporter "${other}"`);
    seen.set(config.path, id);
  }
}

// ---------------------------------------------------------------- service

function readPipelines(
  r: Reader,
  service: Entries,
  processors: ReadonlyMap<string, Component<ProcessorConfig>>,
  exporters: ReadonlyMap<string, Component<ExporterConfig>>,
): PipelineConfig[] {
  const out: PipelineConfig[] = [];
  const used = new Set<string>();
  for (const { key: id, field } of r.map(service.get('pipelines'))?.all() ?? []) {
    const type = componentType(r, field, 'pipeline', id);
    if (type === undefined) continue;
    if (type !== 'metrics') {
      r.error(field, `only metrics pipelines are supported, not "${type}"`);
      continue;
    }
    const p = r.map(field, PIPELINE_KEYS);
    if (!p) continue;
    const before = r.errors.length;
    const receivers = references(r, p.get('receivers'), 'receiver', new Set([RECEIVER_TYPE]), true);
    const procs = references(r, p.get('processors'), 'processor', new Set(processors.keys()), false);
    const exps = references(r, p.get('exporters'), 'exporter', new Set(exporters.keys()), true);
    for (const ref of [...procs, ...exps]) used.add(ref);
    if (r.errors.length > before) continue;
    out.push({
      name: id,
      receivers,
      processors: procs.map((ref) => processors.get(ref)?.config).filter((c) => c !== undefined),
      exporters: exps.map((ref) => exporters.get(ref)?.config).filter((c) => c !== undefined),
    });
  }
  for (const c of [...processors.values(), ...exporters.values()]) {
    if (!used.has(c.id)) r.warn(c.field, `"${c.id}" is defined but not used in any pipeline`);
  }
  return out;
}

function references(r: Reader, field: Field, kind: string, defined: ReadonlySet<string>, nonEmpty: boolean): string[] {
  const items = r.list(field) ?? [];
  if (nonEmpty && items.length === 0) r.error(field, `a pipeline needs at least one ${kind}`);
  const out: string[] = [];
  for (const item of items) {
    const ref = r.string(item, { nonEmpty: true });
    if (ref === undefined) continue;
    if (!defined.has(ref)) {
      const hint = suggest(ref, [...defined]);
      r.error(item, `references ${kind} "${ref}", which is not defined${hint ? ` (did you mean "${hint}"?)` : ''}`);
    } else if (out.includes(ref)) r.error(item, `references ${kind} "${ref}" twice`);
    else out.push(ref);
  }
  return out;
}

function readServiceExtensions(r: Reader, field: Field, extensions: Entries | undefined): void {
  const defined = new Set(extensions?.all().map((e) => e.key) ?? []);
  references(r, field, 'extension', defined, false);
}

function readTelemetry(r: Reader, field: Field | undefined, pick: Choose, flags: Flags): TelemetryConfig {
  const t = field ? r.map(field, SERVICE_KEYS.telemetry) : undefined;
  const logs = t?.has('logs') ? r.map(t.get('logs'), SERVICE_KEYS.telemetry.logs) : undefined;
  let fileLevel: LogLevel | undefined;
  if (logs?.has('level')) {
    const text = r.string(logs.get('level'));
    fileLevel = text === undefined ? undefined : parseLogLevel(text);
    if (text !== undefined && fileLevel === undefined) r.error(logs.get('level'), `invalid log level "${text}"; expected one of: trace, debug, info, warn, error, fatal, panic`);
  }
  const fileEncoding: LogFormat | undefined = logs ? r.oneOf(logs.get('encoding'), ['json', 'text'] as const, { console: 'text' }) : undefined;
  const resource: Record<string, string> = {};
  for (const { key, field: f } of (t?.has('resource') ? r.map(t.get('resource'))?.all() : undefined) ?? []) {
    const v = r.scalar(f);
    if (v !== undefined) resource[key] = String(v);
  }
  return {
    logs: {
      level: pick('log-level', fileLevel, flags.logLevel, DEFAULTS.logLevel),
      encoding: pick('log-format', fileEncoding, flags.logFormat, DEFAULTS.logEncoding),
    },
    resource,
  };
}

/** `{ key: value }` when value is defined, `{}` otherwise: keeps optional keys absent. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
