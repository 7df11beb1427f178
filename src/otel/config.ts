// The OpenTelemetry side's component types, for the config loader
// (src/components.ts), and the unions of their configurations.

import type { ComponentType } from '../config/types.ts';
import { debugExporter, type DebugConfig } from './exporters/debug/config.ts';
import { fileExporter, type FileConfig } from './exporters/file/config.ts';
import type { OtlpExporterConfig } from './exporters/helper/otlp-settings.ts';
import { otlpExporter } from './exporters/otlp/config.ts';
import { otlphttpExporter } from './exporters/otlphttp/config.ts';
import { prometheusExporter, type PrometheusConfig } from './exporters/prometheus/config.ts';
import { fileStorageExtension, type FileStorageConfig } from './extensions/file_storage/config.ts';
import { batchProcessor } from './processors/batch/config.ts';
import { filterProcessor } from './processors/filter/config.ts';
import type { ProcessorConfig } from './processors/plan.ts';
import { resourceProcessor } from './processors/resource/config.ts';
import type { Field, Reader } from '../config/reader.ts';

export type { ProcessorConfig } from './processors/plan.ts';
export type ExporterConfig = OtlpExporterConfig | DebugConfig | FileConfig | PrometheusConfig;
export type ExtensionConfig = FileStorageConfig;

export const PROCESSORS: Readonly<Record<string, ComponentType<ProcessorConfig>>> = { filter: filterProcessor, resource: resourceProcessor, batch: batchProcessor };

export const EXPORTERS: Readonly<Record<string, ComponentType<ExporterConfig>>> = {
  otlp: otlpExporter,
  otlphttp: otlphttpExporter,
  debug: debugExporter,
  file: fileExporter,
  prometheus: prometheusExporter,
} as Record<string, ComponentType<ExporterConfig>>;

export const EXTENSIONS: Readonly<Record<string, ComponentType<ExtensionConfig>>> = { file_storage: fileStorageExtension };

/** Two pull endpoints on one path, or two file exporters on one file, would step on each other; so would one in two pipelines. */
export function checkExporters(r: Reader, exporters: readonly { readonly config: ExporterConfig; readonly field: Field; readonly pipelines: number }[]): void {
  const paths = new Map<string, string>();
  const files = new Map<string, string>();
  for (const { config, field, pipelines } of exporters) {
    if (config.type !== 'prometheus' && config.type !== 'file') continue;
    if (pipelines > 1) {
      r.error(field, `listed in ${pipelines} pipelines: a ${config.type} exporter serves one pipeline; define one per pipeline (e.g. ${config.type}/other with its own path)`);
    }
    const served = config.type === 'prometheus';
    const taken = served ? paths : files;
    const other = taken.get(config.path);
    if (other) r.error(field, served ? `path "${config.path}" is already served by exporter "${other}"` : `file "${config.path}" is already written by exporter "${other}"`);
    taken.set(config.path, config.name);
  }
}
