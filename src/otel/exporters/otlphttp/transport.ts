// OTLP over HTTP: one POST per attempt, over one kept-alive connection.
// Ours rather than @opentelemetry/otlp-exporter-base's (see ../../README.md):
// its export delegate reduces an answer to success or failure (the status,
// Retry-After and partial-success counts the queue needs are lost), retries
// inside its own timeout (a second retry layer), and reads its settings from
// process.env only.

import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { packageVersion } from '../../../package-info.ts';
import { partialSuccess } from '../helper/answers.ts';
import type { OtlpExporterConfig } from '../helper/otlp-settings.ts';
import type { Payload, SendResult, Transport } from '../helper/queue.ts';

/** The OTLP specification's retryable HTTP statuses. */
const RETRYABLE = new Set([429, 502, 503, 504]);
const CONTENT_TYPE = { proto: 'application/x-protobuf', json: 'application/json' } as const;
/** An answer is a status and a small message: more is not read. */
const MAX_ANSWER = 1024 * 1024;

export class HttpTransport implements Transport {
  readonly endpoint: string;
  readonly #url: URL;
  readonly #config: OtlpExporterConfig;
  readonly #agent: http.Agent;
  readonly #tls: https.AgentOptions;
  #closed = false;
  readonly #inFlight = new Set<http.ClientRequest>();

  /** Throws when a certificate file named in the configuration cannot be read. */
  constructor(config: OtlpExporterConfig) {
    this.#config = config;
    this.endpoint = config.url;
    this.#url = new URL(config.url);
    const secure = this.#url.protocol === 'https:';
    const t = config.tls;
    this.#tls = secure
      ? {
          ...(t.caFile !== undefined && { ca: readCertificate(t.caFile, 'ca_file') }),
          ...(t.certFile !== undefined && { cert: readCertificate(t.certFile, 'cert_file') }),
          ...(t.keyFile !== undefined && { key: readCertificate(t.keyFile, 'key_file') }),
          rejectUnauthorized: !t.insecureSkipVerify,
          ...(t.serverNameOverride !== undefined && { servername: t.serverNameOverride }),
        }
      : {};
    // One socket: the queue sends one request at a time.
    this.#agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 1, ...this.#tls }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
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
      const req = (this.#url.protocol === 'https:' ? https : http).request(this.#url, {
        method: 'POST',
        agent: this.#agent,
        headers: {
          ...headers,
          'Content-Type': CONTENT_TYPE[payload.encoding],
          'Content-Length': String(payload.bytes.length),
          'User-Agent': `kata-otel-monitor/${packageVersion()}`,
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
  if (status >= 200 && status < 300) {
    const partial = partialSuccess(body, encoding);
    return partial ? { kind: 'ok', partial } : { kind: 'ok' };
  }
  const text = body.toString('utf8').trim();
  const error = `HTTP ${status}${text ? `: ${text.length > 200 ? text.slice(0, 200) + '…' : text}` : ''}`;
  if (!RETRYABLE.has(status)) return { kind: 'permanent', error };
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  return retryAfterMs === undefined ? { kind: 'retryable', error } : { kind: 'retryable', error, retryAfterMs };
}

/** Retry-After as seconds or an HTTP date. */
function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function readCertificate(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`tls.${key}: cannot read ${file}: ${(e as Error).message}`);
  }
}
