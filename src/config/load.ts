// The YAML file (OpenTelemetry Collector shape) + kata-monitor's flags → the
// resolved configuration. This reads YAML, substitutes ${env:…} (reader.ts),
// hands each component's section to its component type (src/components.ts
// lists them) and ties them into pipelines; every error names its key and
// line. Without --config the result is upstream's daemon: defaults and
// flags, no pipelines.

import { LineCounter, parseDocument } from 'yaml';
import { LEVELS, parseLogLevel, type LogFormat, type LogLevel } from '../log/logger.ts';
import type { Env } from './env.ts';
import { didYouMean, Reader, type Entries, type Field, type KeyTree, leaf } from './reader.ts';
import type { ComponentSection, ComponentType, PipelineConfig, ServiceConfig, TelemetryConfig } from './types.ts';

/** Flags the service itself reads; the receiver's come along as `F`. */
export interface ServiceFlags {
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Path of the YAML file; none: defaults + flags, as upstream. */
  readonly config?: string;
}

export interface LoadOptions<F extends ServiceFlags> {
  readonly flags: F;
  /** Flags given on the command line; they win over the file. */
  readonly explicitFlags: ReadonlySet<string>;
  readonly env: Env;
  /** Reads `flags.config`; may throw (the message is reported). */
  readonly readFile: (path: string) => string;
}

/** The component types a file may use. */
export interface Registry<F extends ServiceFlags, R, P, E, X> {
  readonly receiver: {
    readonly type: string;
    readonly keys: KeyTree;
    read(r: Reader, section: ComponentSection, flags: F, explicit: ReadonlySet<string>): R | undefined;
  };
  readonly processors: Readonly<Record<string, ComponentType<P>>>;
  readonly exporters: Readonly<Record<string, ComponentType<E>>>;
  readonly extensions: Readonly<Record<string, ComponentType<X>>>;
  /** Checks across components, once each has been read (e.g. two pull endpoints on one path); `pipelines`: how many list the exporter. */
  check?(r: Reader, exporters: readonly { readonly config: E; readonly field: Field; readonly pipelines: number }[]): void;
}

export type LoadResult<C> = { readonly ok: true; readonly config: C; readonly warnings: string[] } | { readonly ok: false; readonly errors: string[] };

const PIPELINE_KEYS = { receivers: leaf, processors: leaf, exporters: leaf } satisfies KeyTree;
const TOP_KEYS = { receivers: leaf, processors: leaf, exporters: leaf, extensions: leaf, service: leaf } satisfies KeyTree;
const SERVICE_KEYS = {
  extensions: leaf,
  pipelines: leaf,
  shutdown_timeout: leaf,
  telemetry: { logs: { level: leaf, encoding: leaf }, resource: leaf },
} satisfies KeyTree;

/** SIGTERM: in-flight answers and a final OTLP push get this long (the DaemonSet's grace period is 30 s). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export function loadConfig<F extends ServiceFlags, R, P, E, X>(registry: Registry<F, R, P, E, X>, options: LoadOptions<F>): LoadResult<ServiceConfig<R, P, E, X>> {
  const file = options.flags.config;
  let text = '';
  try {
    if (file !== undefined) text = options.readFile(file);
  } catch (err) {
    return { ok: false, errors: [`config error: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`] };
  }
  return parseConfig(registry, text, options);
}

/** The file's text → the configuration; '' gives the defaults + flags. */
export function parseConfig<F extends ServiceFlags, R, P, E, X>(
  registry: Registry<F, R, P, E, X>,
  text: string,
  options: Pick<LoadOptions<F>, 'flags' | 'explicitFlags' | 'env'>,
): LoadResult<ServiceConfig<R, P, E, X>> {
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
  const env = options.env;

  const top = r.map(r.root(), TOP_KEYS) ?? r.map({ path: '', line: 1, node: null })!;
  const receiver = readReceiver(r, registry, top.get('receivers'), options);
  // `kind:id` of definitions already reported (unknown type, bad id): a reference to one is no second error.
  const reported = new Set<string>();
  const processors = readComponents(r, top.get('processors'), 'processor', registry.processors, env, reported);
  const exporters = readComponents(r, top.get('exporters'), 'exporter', registry.exporters, env, reported);
  const extensions = readComponents(r, top.get('extensions'), 'extension', registry.extensions, env, reported);
  const service = r.map(top.get('service'), SERVICE_KEYS);
  const enabled = service ? references(r, service.get('extensions'), 'extension', new Set(extensions.keys()), false, reported) : [];
  const pipelines = service ? readPipelines(r, registry.receiver.type, service, processors, exporters, reported) : [];
  checkExtensionUse(r, [...processors.values(), ...exporters.values()], new Set(enabled));
  registry.check?.(
    r,
    [...exporters.values()].flatMap((c) => {
      const config = c.config;
      return config === undefined ? [] : [{ config, field: c.section.field, pipelines: pipelines.filter((p) => p.exporters.includes(config)).length }];
    }),
  );
  for (const x of extensions.values()) if (!enabled.includes(x.section.id)) r.warn(x.section.field, `"${x.section.id}" is defined but not listed in service.extensions`);
  const telemetry = readTelemetry(r, service?.get('telemetry'), options);
  const shutdownTimeoutMs = (service && r.duration(service.get('shutdown_timeout'), 0)) ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;

  if (r.errors.length > 0 || receiver === undefined) return { ok: false, errors: byLine(r.errors) };
  const config: ServiceConfig<R, P, E, X> = {
    receiver,
    pipelines,
    extensions: enabled.map((id) => extensions.get(id)?.config).filter((c) => c !== undefined),
    telemetry,
    shutdownTimeoutMs,
  };
  return { ok: true, config, warnings: byLine(r.warnings) };
}

// Messages are collected section by section; a reader wants them in file order.
function byLine(messages: readonly string[]): string[] {
  const line = (m: string): number => Number(/\(line (\d+)/.exec(m)?.[1] ?? 0);
  return [...messages].sort((a, b) => line(a) - line(b));
}

function readReceiver<F extends ServiceFlags, R>(r: Reader, registry: Registry<F, R, unknown, unknown, unknown>, field: Field, options: Pick<LoadOptions<F>, 'flags' | 'explicitFlags' | 'env'>): R | undefined {
  const type = registry.receiver.type;
  const absent: Field = { path: `receivers.${type}`, line: field.line, node: null };
  let entries: Entries | undefined;
  let sectionField = absent;
  for (const { key, field: f } of r.map(field)?.all() ?? []) {
    if (key === type) {
      entries = r.map(f, registry.receiver.keys);
      sectionField = f;
    } else if (key.startsWith(`${type}/`)) r.error(f, `only one ${type} receiver is supported; name it "${type}"`);
    else unknownType(r, f, 'receiver', key, [type]);
  }
  entries ??= r.map(absent, registry.receiver.keys)!;
  return registry.receiver.read(r, { id: type, field: sectionField, entries, env: options.env }, options.flags, options.explicitFlags);
}

interface Component<T> {
  readonly section: ComponentSection;
  readonly type: ComponentType<T>;
  /** Undefined when its section had errors: still "defined" for references. */
  readonly config: T | undefined;
}

function readComponents<T>(r: Reader, field: Field, kind: string, types: Readonly<Record<string, ComponentType<T>>>, env: Env, reported: Set<string>): Map<string, Component<T>> {
  const out = new Map<string, Component<T>>();
  const names = Object.keys(types);
  for (const { key: id, field: f } of r.map(field)?.all() ?? []) {
    const typeName = componentType(r, f, kind, id);
    const type = typeName === undefined ? undefined : types[typeName];
    if (typeName !== undefined && !type) unknownType(r, f, kind, typeName, names);
    if (!type) {
      reported.add(`${kind}:${id}`);
      continue;
    }
    const entries = r.map(f, type.keys);
    if (!entries) continue;
    const before = r.errors.length;
    const section: ComponentSection = { id, field: f, entries, env };
    const config = type.read(r, section);
    out.set(id, { section, type, config: r.errors.length > before ? undefined : config });
  }
  return out;
}

/** `type[/name]`, as the collector's component ids. */
function componentType(r: Reader, field: Field, kind: string, id: string): string | undefined {
  const m = /^([A-Za-z][0-9A-Za-z_]{0,62})(?:\/(.+))?$/.exec(id);
  if (!m || (id.includes('/') && !m[2]?.trim())) return r.error(field, `invalid ${kind} id "${id}" (expected type or type/name)`);
  return m[1];
}

function unknownType(r: Reader, field: Field, kind: string, type: string, types: readonly string[]): void {
  r.error(field, `unknown ${kind} type "${type}"${didYouMean(type, types)}; supported: ${types.join(', ')}`);
}

function readPipelines<P, E>(
  r: Reader,
  receiverType: string,
  service: Entries,
  processors: ReadonlyMap<string, Component<P>>,
  exporters: ReadonlyMap<string, Component<E>>,
  reported: ReadonlySet<string>,
): PipelineConfig<P, E>[] {
  const out: PipelineConfig<P, E>[] = [];
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
    const receivers = references(r, p.get('receivers'), 'receiver', new Set([receiverType]), true);
    const procs = references(r, p.get('processors'), 'processor', new Set(processors.keys()), false, reported);
    const exps = references(r, p.get('exporters'), 'exporter', new Set(exporters.keys()), true, reported);
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
    if (!used.has(c.section.id)) r.warn(c.section.field, `"${c.section.id}" is defined but not used in any pipeline`);
  }
  return out;
}

function references(r: Reader, field: Field, kind: string, defined: ReadonlySet<string>, nonEmpty: boolean, reported: ReadonlySet<string> = new Set()): string[] {
  const items = r.list(field) ?? [];
  if (nonEmpty && items.length === 0) r.error(field, `a pipeline needs at least one ${kind}`);
  const out: string[] = [];
  for (const item of items) {
    const ref = r.string(item, { nonEmpty: true });
    if (ref === undefined || reported.has(`${kind}:${ref}`)) continue;
    if (!defined.has(ref)) r.error(item, `references ${kind} "${ref}", which is not defined${didYouMean(ref, [...defined])}`);
    else if (out.includes(ref)) r.error(item, `references ${kind} "${ref}" twice`);
    else out.push(ref);
  }
  return out;
}

/** Extensions a component refers to (a queue's storage) must be defined and listed in service.extensions, as in the collector. */
function checkExtensionUse(r: Reader, components: readonly Component<unknown>[], enabled: ReadonlySet<string>): void {
  for (const c of components) {
    if (c.config === undefined || !c.type.extensions) continue;
    for (const { id, at } of c.type.extensions(r, c.config, c.section)) {
      if (enabled.has(id)) continue;
      r.error(at, `refers to extension "${id}", which is not ${enabled.size > 0 ? 'listed in service.extensions' : 'defined and listed in service.extensions'}${didYouMean(id, [...enabled])}`);
    }
  }
}

function readTelemetry(r: Reader, field: Field | undefined, options: Pick<LoadOptions<ServiceFlags>, 'flags' | 'explicitFlags'>): TelemetryConfig {
  const t = field ? r.map(field, SERVICE_KEYS.telemetry) : undefined;
  const logs = t?.has('logs') ? r.map(t.get('logs'), SERVICE_KEYS.telemetry.logs) : undefined;
  const levelText = logs && r.string(logs.get('level'));
  const fileLevel = levelText === undefined ? undefined : parseLogLevel(levelText);
  if (levelText !== undefined && fileLevel === undefined) r.error(logs!.get('level'), `invalid log level "${levelText}"; expected one of: ${LEVELS.join(', ')}`);
  const fileEncoding: LogFormat | undefined = logs ? r.oneOf(logs.get('encoding'), ['json', 'text'] as const, { console: 'text' }) : undefined;
  const resource: Record<string, string> = {};
  for (const { key, field: f } of (t?.has('resource') ? r.map(t.get('resource'))?.all() : undefined) ?? []) {
    const v = r.scalar(f);
    if (v !== undefined) resource[key] = String(v);
  }
  const { flags, explicitFlags } = options;
  return {
    logs: {
      level: explicitFlags.has('log-level') ? flags.logLevel : (fileLevel ?? flags.logLevel),
      encoding: explicitFlags.has('log-format') ? flags.logFormat : (fileEncoding ?? flags.logFormat),
    },
    resource,
  };
}
