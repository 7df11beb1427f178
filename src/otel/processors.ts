// The collector-style processors of a pipeline, applied to translated data in
// their configured order: filter (by metric name), resource (edit resource
// attributes), batch (split into requests of bounded size).

import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { Attributes } from '@opentelemetry/api';
import type { FilterMatch, ProcessorConfig } from '../config/types.ts';
import type { OtelMetricData, OtelResourceMetrics } from './model.ts';
import type { PushPlan } from './index-encoder.ts';

export function applyProcessors(rm: OtelResourceMetrics, processors: readonly ProcessorConfig[]): OtelResourceMetrics[] {
  let out: OtelResourceMetrics[] = [rm];
  for (const p of processors) {
    switch (p.type) {
      case 'filter':
        out = out.map((r) => filterMetrics(r, p.include, p.exclude));
        break;
      case 'resource':
        out = out.map((r) => editResource(r, p.attributes));
        break;
      case 'batch':
        out = out.flatMap((r) => splitBatches(r, p.sendBatchMaxSize));
        break;
    }
  }
  return out;
}

/** A FilterMatch with no prefixes and no regexps matches nothing, so `include: {}` would drop all: treat it as absent. */
function isEmpty(m: FilterMatch | undefined): boolean {
  return !m || (m.prefixes.length === 0 && m.regexps.length === 0);
}

export function matches(m: FilterMatch, name: string): boolean {
  for (const p of m.prefixes) if (name.startsWith(p)) return true;
  for (const re of m.regexps) {
    re.lastIndex = 0; // a /g or /y regexp keeps state between test() calls
    if (re.test(name)) return true;
  }
  return false;
}

export function filterMetrics(rm: OtelResourceMetrics, include?: FilterMatch, exclude?: FilterMatch): OtelResourceMetrics {
  const keep = nameFilter(include, exclude);
  if (!keep) return rm;
  return { resource: rm.resource, scopeMetrics: rm.scopeMetrics.map((sm) => ({ scope: sm.scope, metrics: sm.metrics.filter((m) => keep(m.descriptor.name)) })) };
}

/** Whether a metric name passes include and exclude; undefined when both are empty (all pass). */
function nameFilter(include?: FilterMatch, exclude?: FilterMatch): ((name: string) => boolean) | undefined {
  const inc = isEmpty(include) ? undefined : include;
  const exc = isEmpty(exclude) ? undefined : exclude;
  if (!inc && !exc) return undefined;
  return (name) => (!inc || matches(inc, name)) && !(exc && matches(exc, name));
}

/**
 * The processors as a plan for the protobuf push path (index-encoder.ts),
 * which applies them while it encodes: every filter, the resource edits in
 * order, and the smallest batch size. Filters thus act before batching
 * whatever their place in the list, so batches come out full rather than
 * thinned, and two batch processors cut at the smaller size once.
 */
export function pushPlan(resource: Resource, processors: readonly ProcessorConfig[]): PushPlan {
  const filters: ((name: string) => boolean)[] = [];
  let res = resource;
  let max = 0;
  for (const p of processors) {
    switch (p.type) {
      case 'filter': {
        const f = nameFilter(p.include, p.exclude);
        if (f) filters.push(f);
        break;
      }
      case 'resource':
        res = editResource({ resource: res, scopeMetrics: [] }, p.attributes).resource;
        break;
      case 'batch':
        if (p.sendBatchMaxSize > 0) max = max > 0 ? Math.min(max, p.sendBatchMaxSize) : p.sendBatchMaxSize;
        break;
    }
  }
  return { resource: res, keep: (name) => filters.every((f) => f(name)), maxPoints: max };
}

type ResourceAction = Extract<ProcessorConfig, { type: 'resource' }>['attributes'][number];

export function editResource(rm: OtelResourceMetrics, actions: readonly ResourceAction[]): OtelResourceMetrics {
  const attrs: Attributes = { ...rm.resource.attributes };
  for (const a of actions) {
    const present = a.key in attrs;
    switch (a.action) {
      case 'insert':
        if (!present && a.value !== undefined) attrs[a.key] = a.value;
        break;
      case 'update':
        if (present && a.value !== undefined) attrs[a.key] = a.value;
        break;
      case 'upsert':
        if (a.value !== undefined) attrs[a.key] = a.value;
        break;
      case 'delete':
        delete attrs[a.key];
        break;
    }
  }
  return { resource: resourceFromAttributes(attrs), scopeMetrics: rm.scopeMetrics };
}

/**
 * Splits into requests of at most `max` data points, keeping metric order. A
 * metric larger than `max` is cut into several metrics of the same name and
 * descriptor, which OTLP allows across requests.
 */
export function splitBatches(rm: OtelResourceMetrics, max: number): OtelResourceMetrics[] {
  if (!(max > 0)) return [rm];
  const out: OtelResourceMetrics[] = [];
  let current: OtelResourceMetrics | undefined;
  let room = 0;
  for (const sm of rm.scopeMetrics) {
    let scopeOut: { scope: typeof sm.scope; metrics: OtelMetricData[] } | undefined;
    for (const m of sm.metrics) {
      let offset = 0;
      while (offset < m.dataPoints.length) {
        if (!current || room === 0) {
          current = { resource: rm.resource, scopeMetrics: [] };
          out.push(current);
          room = max;
          scopeOut = undefined;
        }
        if (!scopeOut) {
          scopeOut = { scope: sm.scope, metrics: [] };
          current.scopeMetrics.push(scopeOut);
        }
        const take = Math.min(room, m.dataPoints.length - offset);
        scopeOut.metrics.push(
          take === m.dataPoints.length ? m : ({ ...m, dataPoints: m.dataPoints.slice(offset, offset + take) } as OtelMetricData),
        );
        offset += take;
        room -= take;
      }
    }
  }
  return out.length > 0 ? out : [rm];
}
