// OTLP over HTTP: one POST per attempt, over one kept-alive connection.
// Ours rather than @opentelemetry/otlp-exporter-base's: ../../README.md says why.

import http from 'node:http';
import https from 'node:https';
import { partialSuccess } from '../helper/answers.ts';
import { tlsFiles, USER_AGENT, type OtlpExporterConfig } from '../helper/otlp-settings.ts';
import type { Payload, SendResult, Transport } from '../helper/queue.ts';

/** The OTLP specification's retryable HTTP statuses. */
const RETRYABLE = new Set([429, 502, 503, 504]);
const CONTENT_TYPE = { proto: 'application/x-protobuf', json: 'application/json' } as const;
/** An answer is a status and a small message: more is not read. */
const MAX_ANSWER = 1024 * 1024;

export class HttpTransport implements Transport {
  readonly #url: URL;
  readonly #config: OtlpExporterConfig;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  #closed = false;
  readonly #inFlight = new Set<http.ClientRequest>();

  /** Throws when a certificate file named in the configuration cannot be read. */
  constructor(config: OtlpExporterConfig) {
    this.#config = config;
    this.#url = new URL(config.url);
    const t = config.tls;
    const tls = this.#url.protocol === 'https:';
    // One socket: the queue sends one request at a time.
    const one = { keepAlive: true, maxSockets: 1 };
    this.#agent = tls ? new https.Agent({ ...one, ...tlsFiles(t), rejectUnauthorized: !t.insecureSkipVerify, ...(t.serverNameOverride !== undefined && { servername: t.serverNameOverride }) }) : new http.Agent(one);
    this.#request = tls ? https.request : http.request;
  }

  send(payload: Payload): Promise<SendResult> {
    if (this.#closed) return Promise.resolve({ kind: 'retryable', error: 'exporter shut down' });
    const { timeoutMs, headers } = this.#config;
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const done = (r: SendResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#inFlight.delete(req);
        resolve(r);
      };
      const req = this.#request(this.#url, {
        method: 'POST',
        agent: this.#agent,
        headers: {
          ...headers,
          'Content-Type': CONTENT_TYPE[payload.encoding],
          'Content-Length': String(payload.bytes.length),
          'User-Agent': USER_AGENT,
          ...(payload.gzip && { 'Content-Encoding': 'gzip' }),
        },
      });
      this.#inFlight.add(req);
      // One deadline for the whole exchange: a backend that trickles its answer is cut too. Timers run before
      // I/O in a loop turn: after a blocked loop the answer may already be in the socket, so it is read first
      // (setImmediate runs after the poll), rather than cut and the batch sent twice.
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (settled) return;
          req.destroy();
          done({ kind: 'retryable', error: `no answer within ${timeoutMs} ms` });
        });
      }, timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => done({ kind: 'retryable', error: `${e.code ? `${e.code}: ` : ''}${e.message}` }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_ANSWER) chunks.push(c);
        });
        res.on('error', (e) => done({ kind: 'retryable', error: `answer cut short: ${e.message}` }));
        res.on('end', () => done(classify(res, Buffer.concat(chunks), payload.encoding)));
      });
      req.end(payload.bytes);
    });
  }

  close(): void {
    this.#closed = true;
    for (const req of this.#inFlight) req.destroy(new Error('exporter shut down'));
    this.#agent.destroy();
  }
}

function classify(res: http.IncomingMessage, body: Buffer, encoding: Payload['encoding']): SendResult {
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return { kind: 'ok', partial: partialSuccess(body, encoding) };
  const text = body.toString('utf8').trim();
  const error = `HTTP ${status}${text ? `: ${text.length > 200 ? text.slice(0, 200) + '…' : text}` : ''}`;
  if (!RETRYABLE.has(status)) return { kind: 'permanent', error };
  return { kind: 'retryable', error, retryAfterMs: parseRetryAfter(res.headers['retry-after']) };
}

/** Retry-After as seconds or an HTTP date. */
function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
