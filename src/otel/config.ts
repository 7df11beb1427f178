// The OpenTelemetry side's component types, for the config loader
// (src/components.ts), and the unions of their configurations.

import type { ComponentType, PipelineConfig } from '../config/types.ts';
import { debugExporter, type DebugConfig } from './exporters/debug/config.ts';
import { fileExporter, type FileConfig } from './exporters/file/config.ts';
import type { OtlpExporterConfig } from './exporters/helper/otlp-settings.ts';
import { otlpExporter } from './exporters/otlp/config.ts';
import { otlphttpExporter } from './exporters/otlphttp/config.ts';
import { prometheusExporter, type PrometheusConfig } from './exporters/prometheus/config.ts';
import { fileStorageExtension, type FileStorageConfig } from './extensions/file_storage/config.ts';
import { PROCESSOR_TYPES, type ProcessorConfig } from './processors/plan.ts';
import type { Field, Reader } from '../config/reader.ts';

export type { ProcessorConfig } from './processors/plan.ts';
export type ExporterConfig = OtlpExporterConfig | DebugConfig | FileConfig | PrometheusConfig;
export type ExtensionConfig = FileStorageConfig;
export type OtelPipelineConfig = PipelineConfig<ProcessorConfig, ExporterConfig>;

export const PROCESSORS: Readonly<Record<string, ComponentType<ProcessorConfig>>> = PROCESSOR_TYPES;

export const EXPORTERS: Readonly<Record<string, ComponentType<ExporterConfig>>> = {
  otlp: otlpExporter,
  otlphttp: otlphttpExporter,
  debug: debugExporter,
  file: fileExporter,
  prometheus: prometheusExporter,
} as Record<string, ComponentType<ExporterConfig>>;

export const EXTENSIONS: Readonly<Record<string, ComponentType<ExtensionConfig>>> = { file_storage: fileStorageExtension };

/**
 * Across exporters: two pull endpoints on one path, or two file exporters on
 * one file, would step on each other; so would one of them in two pipelines
 * (each pipeline runs its own instance).
 */
export function checkExporters(r: Reader, exporters: readonly { readonly config: ExporterConfig; readonly field: Field; readonly pipelines: number }[]): void {
  const paths = new Map<string, string>();
  const files = new Map<string, string>();
  for (const { config, field, pipelines } of exporters) {
    if ((config.type === 'prometheus' || config.type === 'file') && pipelines > 1) {
      r.error(field, `listed in ${pipelines} pipelines: a ${config.type} exporter serves one pipeline; define one per pipeline (e.g. ${config.type}/other with its own path)`);
    }
    const [taken, key] = config.type === 'prometheus' ? [paths, config.path] : config.type === 'file' ? [files, config.path] : [undefined, ''];
    if (!taken) continue;
    const other = taken.get(key);
    if (other) r.error(field, `${config.type === 'prometheus' ? 'path' : 'file'} "${key}" is already ${config.type === 'prometheus' ? 'served' : 'written'} by exporter "${other}"`);
    taken.set(key, config.name);
  }
}
