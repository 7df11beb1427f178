// The otel/ stage's public surface, for main.ts and the server.
export { buildResource, SERVICE_NAME, type ResourceOptions } from './resource.ts';
export { Translator, TranslateError, type TranslatorOptions, type Translation } from './translate.ts';
export { SnapshotMetricProducer, withoutSummaries, type OtelCollection } from './producer.ts';
export { Pipeline, type PipelineOptions, type PipelineStatus, type PushResult } from './pipeline.ts';
export {
  OtlpHttpExporter,
  createOtlpExporters,
  queueFamilies,
  DEFAULT_QUEUE,
  DEFAULT_RETRY,
  type ExporterDeps,
  type ExporterStatus,
  type OtlpHttpExporterConfig,
} from './exporters.ts';
export { OtlpConfigError, resolveOtlpHttpSettings, type OtlpHttpOptions, type OtlpHttpSettings } from './otlp-http.ts';
export { createPrometheusEndpoint, type PrometheusEndpoint, type PrometheusEndpointOptions } from './prometheus-endpoint.ts';
export { applyProcessors } from './processors.ts';
export { encodeProto, encodeJson, encodeRequest } from './otlp-encode.ts';
export type { OtelResourceMetrics, OtelMetricData, SummaryMetricData, SummaryValue } from './model.ts';
