// The shape of a resolved configuration, whatever its components (their types
// and configs are their own, src/components.ts lists them): the collector's,
// with one receiver.

import type { LogFormat, LogLevel } from '../log/logger.ts';
import type { Env } from './env.ts';
import type { Entries, Field, KeyTree, Reader } from './reader.ts';

/** One component's section as the loader hands it over: its id (`type/name`), where it is, its keys. */
export interface ComponentSection {
  readonly id: string;
  readonly field: Field;
  readonly entries: Entries;
  /** Where ${env:…} and OTEL_* variables come from. */
  readonly env: Env;
}

/** What a component type brings to the loader: its keys, and how to read and check its section. */
export interface ComponentType<T> {
  readonly keys: KeyTree;
  /** The section as a config, errors reported to `r` with key and line; undefined when it had errors. */
  read(r: Reader, section: ComponentSection): T | undefined;
  /** Extensions the config refers to (e.g. a sending queue's storage), with where. */
  extensions?(r: Reader, config: T, section: ComponentSection): readonly { readonly id: string; readonly at: Field }[];
}

export interface PipelineConfig<P, E> {
  readonly name: string;
  readonly receivers: readonly string[];
  readonly processors: readonly P[];
  readonly exporters: readonly E[];
}

export interface TelemetryConfig {
  readonly logs: { readonly level: LogLevel; readonly encoding: LogFormat };
  /** Extra resource attributes for every exported metric. */
  readonly resource: Readonly<Record<string, string>>;
}

export interface ServiceConfig<R, P, E, X> {
  readonly receiver: R;
  readonly pipelines: readonly PipelineConfig<P, E>[];
  /** service.extensions, in order. */
  readonly extensions: readonly X[];
  readonly telemetry: TelemetryConfig;
  /** service.shutdown_timeout: on SIGTERM, in-flight answers and the final OTLP push get this long. */
  readonly shutdownTimeoutMs: number;
}
