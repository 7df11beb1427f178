// Listening: plain HTTP on loopback by default (upstream), TLS when
// configured. A port already in use or a bad address is a ListenError with the
// address in its message, not a stack trace.

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { splitHostPort, type ServerConfig } from './config.ts';

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

export async function listen(app: Hono<{ Bindings: HttpBindings }>, cfg: ServerConfig): Promise<RunningServer> {
  const hostPort = splitHostPort(cfg.listenAddress);
  if (!hostPort) throw new ListenError(`invalid listen address ${JSON.stringify(cfg.listenAddress)}: expected host:port, e.g. 127.0.0.1:8090`);
  const { host, port } = hostPort;
  if (port > 65535) throw new ListenError(`invalid listen address ${JSON.stringify(cfg.listenAddress)}: port out of range`);
  let server: Server;
  if (cfg.tls) {
    let key: Buffer;
    let cert: Buffer;
    try {
      key = readFileSync(cfg.tls.keyFile);
      cert = readFileSync(cfg.tls.certFile);
    } catch (err) {
      throw new ListenError(`cannot read TLS key or certificate: ${err instanceof Error ? err.message : String(err)}`);
    }
    server = createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions: { key, cert } }) as Server;
  } else {
    server = createAdaptorServer({ fetch: app.fetch, createServer: createHttpServer }) as Server;
  }
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is already in use (is another kata-monitor running?)'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.code === 'EADDRNOTAVAIL'
              ? 'no such local address'
              : err.message;
      reject(new ListenError(`cannot listen on ${cfg.listenAddress}: ${why}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const a = server.address();
  const bound = a && typeof a === 'object' ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : cfg.listenAddress;
  return {
    server,
    address: bound,
    url: `${cfg.tls ? 'https' : 'http'}://${bound}`,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
