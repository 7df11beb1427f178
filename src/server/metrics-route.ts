// GET /metrics: upstream's contract (own families first, then every sandbox's
// families relabelled and merged; filter_family; sandbox=ID raw), written
// straight to the socket in chunks, gzip-compressed when the client allows.

import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { MetricFamily } from '../exposition/model.ts';
import { encodeText } from '../exposition/encode-text.ts';
import { encodeOpenMetrics } from '../exposition/encode-openmetrics.ts';
import { encodeProtobufDelimited } from '../exposition/encode-protobuf.ts';
import { acceptsGzip, negotiate, type ExpositionFormat } from '../exposition/negotiate.ts';
import type { Snapshot } from '../scrape/snapshot.ts';
import { parseFamilies } from '../exposition/scan.ts';
import { ChunkPool } from '../buffers/chunk-pool.ts';
import { familyChunks, mergeSnapshot } from '../scrape/merge.ts';
import { sendChunks } from './send-chunks.ts';
import { gzipParallel } from './parallel-gzip.ts';
import type { AppDeps } from './deps.ts';
import { shimGet } from '../shim/client.ts';
import { shimSocketsFor } from '../shim/socket-path.ts';
import { describeId, queryFromUrl } from './query.ts';

/** Shared by all requests: a few 64 KiB buffers serve every answer. */
const pool = new ChunkPool();

/** Writes the answer to the socket itself; resolves when it is sent (or the client left). */
export async function serveMetrics(deps: AppDeps, c: Context<{ Bindings: HttpBindings }>): Promise<Response> {
  const query = queryFromUrl(c.req.url);
  const sandbox = query.get('sandbox');
  const { format, contentType } = negotiate(c.req.header('accept'), { openMetrics: deps.server.openMetrics });
  // HEAD: the headers a GET would get, without a scrape. (Hono answers HEAD through the GET
  // route and rebuilds its Response: an answer already written to the socket cannot be one.)
  if (c.req.method === 'HEAD') return c.body(null, 200, { 'Content-Type': sandbox ? 'text/plain; charset=utf-8' : contentType });
  const res = c.env.outgoing;
  const started = performance.now();
  deps.selfMetrics.scrapeCount++;
  try {
    if (sandbox) {
      await serveSandboxBody(deps, sandbox, res);
      return RESPONSE_ALREADY_SENT;
    }
    const gzip = acceptsGzip(c.req.header('accept-encoding'));
    const filterParam = query.get('filter_family');
    const prefixes = filterParam ? filterParam.split(',') : undefined;

    // The snapshot's bodies are freed when the answer is out (SnapshotSource.read).
    await deps.source.read(async (snapshot) => {
      const scraped = performance.now();
      const body = metricsBody(snapshot, prefixes ? [] : deps.selfMetrics.families(), prefixes, format);
      // What Go's encoder would have cut the answer short at: left out here, and said (the log keeps one line a minute each).
      for (const c of mergeSnapshot(snapshot).conflicts) {
        deps.logger.warn('family left out for a sandbox: its type differs from the other sandboxes\'', { family: c.family, sandbox: c.sandboxId, type: c.type, expected: c.expected });
      }

      res.statusCode = 200;
      res.setHeader('Content-Type', contentType);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (gzip) res.setHeader('Content-Encoding', 'gzip');
      try {
        const release = (b: Buffer): void => pool.give(b);
        await sendChunks(res, gzip ? gzipParallel(body, { level: deps.server.gzipLevel, release }) : body, gzip ? {} : { release });
        if (deps.logger.enabled('debug')) {
          deps.logger.debug('metrics answered', {
            sandboxes: snapshot.sandboxes.length,
            wait_ms: Math.round(scraped - started),
            write_ms: Math.round(performance.now() - scraped),
            format,
            gzip,
          });
        }
      } catch (err) {
        // The client went away mid-answer: nothing to tell it.
        deps.logger.debug('metrics response aborted', { error: err instanceof Error ? err.message : String(err) });
      }
    });
    return RESPONSE_ALREADY_SENT;
  } finally {
    deps.selfMetrics.observeRequestDuration(performance.now() - started);
  }
}

/**
 * What /metrics answers for a snapshot, in chunks: the daemon's own
 * families (`own`, empty with a filter, as upstream), then every sandbox's
 * families relabelled and merged, those `prefixes` select. Text is written
 * from the scan's index into pool buffers; the rarer formats go through the
 * model read from that text. `json` (the metrics command's) is the model
 * itself.
 */
export function metricsBody(snapshot: Snapshot, own: readonly MetricFamily[], prefixes: readonly string[] | undefined, format: ExpositionFormat | 'json'): Iterable<Buffer> {
  const merged = mergeSnapshot(snapshot).families;
  // filter_family: upstream's strings.HasPrefix per comma-separated entry. Each family is written once even when
  // several prefixes match it: upstream would repeat it, which Prometheus rejects.
  const families = prefixes?.length ? merged.filter((f) => prefixes.some((p) => f.head.name.startsWith(p))) : merged;
  if (format === 'text') {
    return (function* () {
      if (own.length > 0) yield Buffer.from(encodeText(own));
      yield* familyChunks(families, pool);
    })();
  }
  const all = [...own, ...parseFamilies(Buffer.concat([...familyChunks(families)]))];
  if (format === 'json') return [Buffer.from(JSON.stringify(all, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? String(v) : v), 2) + '\n')];
  const bytes = format === 'protobuf' ? encodeProtobufDelimited(all) : Buffer.from(encodeOpenMetrics(all));
  return [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
}

/** `?sandbox=ID`: the shim's body unchanged (upstream: `kata-runtime metrics`). */
async function serveSandboxBody(deps: AppDeps, id: string, res: ServerResponse): Promise<void> {
  const entry = deps.registry.get(id);
  if (!entry) {
    sendText(res, 404, `sandbox ${describeId(id)} not found\n`);
    return;
  }
  try {
    const r = await shimGet(shimSocketsFor(entry, deps.roots), '/metrics', {
      timeoutMs: deps.shim.timeoutMs,
      maxBytes: deps.shim.maxBodyBytes,
    });
    sendText(res, 200, r.body);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    deps.logger.warn('failed to get metrics for sandbox', { sandbox_id: id, error: msg });
    sendText(res, 500, msg + '\n');
  }
}

function sendText(res: ServerResponse, status: number, text: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(text);
}
