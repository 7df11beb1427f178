// The bridge to the SDK: a MetricProducer (for MetricReaderOptions.metricProducers)
// whose collect() scrapes a snapshot and translates it. A producer that throws
// fails the reader's whole collection, so every failure becomes an entry of
// `errors` next to whatever could still be produced.

import type { Resource } from '@opentelemetry/resources';
import type { CollectionResult, MetricData, MetricProducer, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { SnapshotSource } from '../scrape/snapshot.ts';
import type { EncodedPush, IndexEncoder, PushPlan } from './index-encoder.ts';
import { isSummary, type OtelResourceMetrics } from './model.ts';
import { TranslateError, type Translator } from './translate.ts';

export interface OtelCollection {
  readonly resourceMetrics: OtelResourceMetrics;
  readonly errors: unknown[];
}

export class SnapshotMetricProducer implements MetricProducer {
  readonly #source: SnapshotSource;
  readonly #translator: Translator;

  constructor(options: { readonly source: SnapshotSource; readonly translator: Translator }) {
    this.#source = options.source;
    this.#translator = options.translator;
  }

  /** The resource every translation carries (before a pipeline's resource processors). */
  get resource(): Resource {
    return this.#translator.resource;
  }

  /** The protobuf push path: a snapshot encoded as `plan` says, while its data is held. */
  async encode(encoder: IndexEncoder, plan: PushPlan): Promise<EncodedPush> {
    try {
      return await this.#source.read((snapshot) => encoder.encode(snapshot, plan));
    } catch (e) {
      return { requests: [], dataPoints: 0, errors: [new TranslateError(`push not encoded: ${e instanceof Error ? e.message : String(e)}`, { cause: e })] };
    }
  }

  /** Everything, summaries included: what our OTLP serializer sends. */
  async collectAll(): Promise<OtelCollection> {
    try {
      // The translation copies what it needs, so the snapshot's bodies can be
      // freed as soon as it is done (SnapshotSource.read).
      const t = await this.#source.read((snapshot) => this.#translator.translate(snapshot));
      return { resourceMetrics: t.resourceMetrics, errors: [...t.errors] };
    } catch (e) {
      const error = new TranslateError(`no snapshot: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      return { resourceMetrics: { resource: this.#translator.resource, scopeMetrics: [] }, errors: [error] };
    }
  }

  /**
   * The SDK view: the SDK has no Summary point type and its components
   * (PrometheusSerializer, OTLP serializers) would mishandle one, so
   * summaries are left out here.
   */
  async collect(): Promise<CollectionResult> {
    const { resourceMetrics, errors } = await this.collectAll();
    return { resourceMetrics: withoutSummaries(resourceMetrics), errors };
  }
}

export function withoutSummaries(rm: OtelResourceMetrics): ResourceMetrics {
  return {
    resource: rm.resource,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({
      scope: sm.scope,
      metrics: sm.metrics.filter((m): m is MetricData => !isSummary(m)),
    })),
  };
}
