// The collector-style processors of a pipeline, applied to translated data in
// their configured order: filter (by metric name), resource (edit resource
// attributes), batch (split into requests of bounded size).

import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Attributes } from '@opentelemetry/api';
import type { FilterMatch, ProcessorConfig } from '../config/types.ts';
import type { OtelMetricData, OtelResourceMetrics } from './model.ts';

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
  const inc = isEmpty(include) ? undefined : include;
  const exc = isEmpty(exclude) ? undefined : exclude;
  if (!inc && !exc) return rm;
  const keep = (m: OtelMetricData): boolean => (!inc || matches(inc, m.descriptor.name)) && !(exc && matches(exc, m.descriptor.name));
  return { resource: rm.resource, scopeMetrics: rm.scopeMetrics.map((sm) => ({ scope: sm.scope, metrics: sm.metrics.filter(keep) })) };
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
