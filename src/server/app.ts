// The HTTP routes: thin, each calling the stage that does the work. Paths and
// behaviours follow upstream kata-monitor (Go's ServeMux: "/" answers every
// path nobody else claims); /healthz, /readyz and extra routes are ours.

import { Hono, type Context } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import type { HttpBindings } from '@hono/node-server';
import { getAgentUrl, isProxiedDebugPath, proxyDebugRequest } from '../shim/proxy.ts';
import { shimSocketsFor } from '../shim/socket-path.ts';
import type { AppDeps } from './deps.ts';
import { serveMetrics } from './metrics-route.ts';
import { type Endpoint, UPSTREAM_ENDPOINTS, indexText, sandboxesHtml, sandboxesText, statusHtml, wantsHtml } from './pages.ts';
import { describeId, queryFromUrl } from './query.ts';

const TEXT = 'text/plain; charset=utf-8';
const OTEL_METRICS_PATH = '/otel/metrics';
const HTML = 'text/html';
/** The OTel-named pull endpoint, when no prometheus exporter serves it: how to turn it on. */
const NO_PROMETHEUS_EXPORTER =
  `${OTEL_METRICS_PATH} is served by a prometheus exporter, and none is configured. Add one to a pipeline of the -config file:\n\n` +
  'exporters:\n  prometheus: { path: /otel/metrics }\nservice:\n  pipelines:\n    metrics: { receivers: [kata_monitor], exporters: [prometheus] }\n\n' +
  'kata-monitor\'s own /metrics needs none of this.\n';

export function createApp(deps: AppDeps): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  const extraRoutes = deps.extraRoutes ?? [];
  const endpoints: Endpoint[] = [
    ...UPSTREAM_ENDPOINTS,
    { path: '/healthz', desc: 'Liveness: the process is up.' },
    { path: '/readyz', desc: 'Readiness: sandbox roots watched, server listening (CRI state reported).' },
    ...extraRoutes.map((r) => ({ path: r.path, desc: r.desc })),
  ];

  // On every Response, onError's included (/metrics writes its own answer to the socket and sets it there).
  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
  });

  // Probes stay open: the kubelet cannot present credentials.
  app.get('/healthz', (c) => c.text('ok\n', 200, { 'Content-Type': TEXT }));
  app.get('/readyz', (c) => {
    const checks = deps.readiness();
    const ready = Object.values(checks).every((h) => h.ok || h.informational);
    const lines = Object.entries(checks).map(([k, h]) => `${h.ok ? '[+]' : '[-]'}${k} ${h.ok ? 'ok' : 'failed'}: ${h.detail}`);
    return c.text(`${lines.join('\n')}\n${ready ? 'ready' : 'not ready'}\n`, ready ? 200 : 503, { 'Content-Type': TEXT });
  });

  const auth = deps.server.auth;
  if (auth?.type === 'basic') app.use('*', basicAuth({ username: auth.username, password: auth.password }));
  if (auth?.type === 'bearer') app.use('*', bearerAuth({ token: auth.token }));

  app.get('/metrics', (c) => serveMetrics(deps, c));

  app.get('/sandboxes', (c) => {
    const list = deps.registry.list();
    return wantsHtml(c.req.header('accept')) ? c.body(sandboxesHtml(list), 200, { 'Content-Type': HTML }) : c.body(sandboxesText(list), 200, { 'Content-Type': TEXT });
  });

  app.get('/agent-url', async (c) => {
    const id = queryFromUrl(c.req.url).get('sandbox');
    if (!id) return c.body('sandbox not found in the query: use /agent-url?sandbox=ID\n', 400, { 'Content-Type': TEXT });
    const entry = deps.registry.get(id);
    if (!entry) return c.body(`sandbox ${describeId(id)} not found\n`, 400, { 'Content-Type': TEXT });
    try {
      const url = await getAgentUrl(shimSocketsFor(entry, deps.roots), { timeoutMs: deps.shim.timeoutMs, maxBytes: 64 * 1024 });
      return c.body(url + '\n', 200, { 'Content-Type': TEXT });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      deps.logger.warn('failed to get agent url', { sandbox_id: entry.id, error: msg });
      return c.body(msg + '\n', 400, { 'Content-Type': TEXT });
    }
  });

  const debug = async (c: Context<{ Bindings: HttpBindings }>): Promise<Response> => {
    const url = c.req.url;
    const pathAndQuery = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    const pathname = c.req.path;
    if (!isProxiedDebugPath(pathname)) {
      return c.body(pathname.startsWith('/debug/pprof/') ? 'Unknown profile\n' : '404 page not found\n', 404, { 'Content-Type': TEXT });
    }
    const id = queryFromUrl(url).get('sandbox');
    const entry = id ? deps.registry.get(id) : undefined;
    if (!entry) {
      if (id) deps.logger.warn('pprof request for an unknown sandbox', { sandbox: describeId(id) });
      return c.body('sandbox may be stopped or deleted\n', 400, { 'Content-Type': TEXT, 'X-Go-Pprof': '1' });
    }
    const ctrl = new AbortController();
    c.env.incoming.once('close', () => ctrl.abort(new Error('client went away')));
    return proxyDebugRequest(shimSocketsFor(entry, deps.roots), entry.id, pathAndQuery, {
      timeoutMs: deps.shim.timeoutMs,
      maxBytes: deps.shim.maxBodyBytes,
      signal: ctrl.signal,
      logger: deps.logger,
    });
  };
  app.get('/debug/vars', debug);
  app.get('/debug/pprof/*', debug);

  for (const r of extraRoutes) app.get(r.path, (c) => r.handler(c.req.raw));
  if (!extraRoutes.some((r) => r.path === OTEL_METRICS_PATH)) {
    app.get(OTEL_METRICS_PATH, (c) => c.body(NO_PROMETHEUS_EXPORTER, 404, { 'Content-Type': TEXT }));
  }

  // The index at "/"; any other path is not found, with the list of what there is.
  app.get('/', (c) => {
    if (!wantsHtml(c.req.header('accept'))) return c.body(indexText(endpoints), 200, { 'Content-Type': TEXT });
    return c.body(statusHtml(deps, endpoints), 200, { 'Content-Type': 'text/html; charset=utf-8' });
  });
  // Browsers ask for it on every page; no icon is not an error worth a 404 in their console.
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.all('*', (c) => {
    // A path that is served, asked with another method than GET or HEAD: not "not found".
    const p = c.req.path;
    if (p === '/' || p === OTEL_METRICS_PATH || p.startsWith('/debug/pprof/') || endpoints.some((e) => e.path === p)) {
      return c.body(`405 method not allowed: ${c.req.method} ${p} (use GET)\n`, 405, { 'Content-Type': TEXT, Allow: 'GET, HEAD' });
    }
    return c.body(`404 page not found: ${p}\n\n${indexText(endpoints)}`, 404, { 'Content-Type': TEXT });
  });

  app.onError((err, c) => {
    // Hono's auth middlewares answer 401 by throwing: that is an answer, not a failure.
    if (err instanceof HTTPException) {
      const res = err.getResponse();
      const headers = new Headers(res.headers);
      if (!headers.has('Content-Type')) headers.set('Content-Type', TEXT);
      return new Response(res.body, { status: res.status, headers });
    }
    deps.logger.error('request failed', { path: c.req.path, error: err.message });
    return c.body('internal error\n', 500, { 'Content-Type': TEXT });
  });
  return app;
}
