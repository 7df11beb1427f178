// Listening: plain HTTP on loopback by default (upstream), TLS when
// configured. A port already in use or a bad address is a ListenError with the
// address in its message, not a stack trace.

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { splitHostPort, type ServerConfig, type TlsConfig } from './config.ts';

export class ListenError extends Error {
  override readonly name = 'ListenError';
}

export interface RunningServer {
  readonly server: Server;
  /** host:port actually bound (port 0 resolved). */
  readonly address: string;
  readonly url: string;
  /** Stops accepting, lets in-flight answers finish, then closes idle sockets. */
  close(graceMs?: number): Promise<void>;
}

const LISTEN_ERRORS = new Map([
  ['EADDRINUSE', 'the address is already in use (is another kata-monitor running?)'],
  ['EACCES', 'permission denied'],
  ['EADDRNOTAVAIL', 'no such local address'],
]);

export async function listen(app: Hono<{ Bindings: HttpBindings }>, cfg: ServerConfig): Promise<RunningServer> {
  const hostPort = splitHostPort(cfg.listenAddress);
  if (!hostPort) throw new ListenError(`invalid listen address ${JSON.stringify(cfg.listenAddress)}: expected host:port, e.g. 127.0.0.1:8090`);
  const { host, port } = hostPort;
  if (port > 65535) throw new ListenError(`invalid listen address ${JSON.stringify(cfg.listenAddress)}: port out of range`);
  const server = (
    cfg.tls
      ? createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions: readTls(cfg.tls) })
      : createAdaptorServer({ fetch: app.fetch, createServer: createHttpServer })
  ) as Server;
  server.keepAliveTimeout = 30_000;
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ListenError(`cannot listen on ${cfg.listenAddress}: ${LISTEN_ERRORS.get(e.code ?? '') ?? e.message}`);
  }
  const a = server.address();
  const bound = a && typeof a === 'object' ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : cfg.listenAddress;
  return {
    server,
    address: bound,
    url: `${cfg.tls ? 'https' : 'http'}://${bound}`,
    close: async (graceMs = 5000) => {
      const timer = setTimeout(() => server.closeAllConnections(), graceMs).unref();
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      await closed;
      clearTimeout(timer);
    },
  };
}

function readTls(tls: TlsConfig): { key: Buffer; cert: Buffer } {
  try {
    return { key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile) };
  } catch (err) {
    throw new ListenError(`cannot read TLS key or certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
}
