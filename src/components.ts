// Every component type a configuration file may use, and the loader bound
// to them: the kata_monitor receiver, and the OpenTelemetry side's
// processors, exporters and extensions. Each keeps its config type,
// defaults and validation beside its code; config/ only dispatches.

import { loadConfig as load, parseConfig as parse, type LoadOptions, type LoadResult, type Registry, type ServiceFlags } from './config/load.ts';
import type { ServiceConfig } from './config/types.ts';
import { checkExporters, EXPORTERS, EXTENSIONS, PROCESSORS, type ExporterConfig, type ExtensionConfig, type ProcessorConfig } from './otel/config.ts';
import { readReceiver, RECEIVER_KEYS, RECEIVER_TYPE, type ReceiverConfig, type ReceiverFlags } from './receiver/config.ts';

export type Flags = ServiceFlags & ReceiverFlags;
export type Config = ServiceConfig<ReceiverConfig, ProcessorConfig, ExporterConfig, ExtensionConfig>;

const REGISTRY: Registry<Flags, ReceiverConfig, ProcessorConfig, ExporterConfig, ExtensionConfig> = {
  receiver: { type: RECEIVER_TYPE, keys: RECEIVER_KEYS, read: readReceiver },
  processors: PROCESSORS,
  exporters: EXPORTERS,
  extensions: EXTENSIONS,
  check: checkExporters,
};

/** Reads `flags.config` (if any) and the flags into the configuration. */
export function loadConfig(options: LoadOptions<Flags>): LoadResult<Config> {
  return load(REGISTRY, options);
}

/** The same from a file's text ('' gives the defaults and flags). */
export function parseConfig(text: string, options: Pick<LoadOptions<Flags>, 'flags' | 'explicitFlags' | 'env'>): LoadResult<Config> {
  return parse(REGISTRY, text, options);
}
