// Security options and safe answers through the real daemon: TLS, basic and
// bearer auth (probes stay open), nosniff everywhere, and HTML pages that
// escape what sandbox directories and the CRI runtime put into them.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseText } from '../support/fixtures.ts';
import { httpGet, startHarness, type Harness } from './support.ts';

function haveOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

describe('TLS', { timeout: 60_000 }, () => {
  test('16. with tls configured, https serves and plain http does not', { skip: haveOpenssl() ? false : 'openssl is not installed' }, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kf-tls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    const gen = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert],
      { stdio: 'pipe', timeout: 30_000 },
    );
    assert.equal(gen.status, 0, gen.stderr?.toString());

    const h = await startHarness({ receiverYaml: `tls:\n  cert_file: ${cert}\n  key_file: ${key}` });
    t.after(() => h.stop());
    await h.addShim('tls-sb', 'ok', 0);
    await h.known('tls-sb');
    assert.match(h.daemon.url, /^https:\/\//);

    const r = await h.get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /sandbox_id="tls-sb"/);
    assert.equal((await h.get('/healthz')).status, 200);

    const plain = h.daemon.url.replace(/^https:/, 'http:');
    let answered: number | undefined;
    let leaked = false;
    try {
      const p = await httpGet(`${plain}/metrics`);
      answered = p.status;
      leaked = p.text.includes('sandbox_id');
    } catch {
      // Connection reset: what we expect.
    }
    assert.ok(answered === undefined || answered >= 400, `plain http answered ${answered}`);
    assert.ok(!leaked, 'no metrics over plain http');
  });
});

describe('authentication', { timeout: 60_000 }, () => {
  const ID = 'auth-sb';
  const protectedPaths = ['/', '/metrics', `/metrics?sandbox=${ID}`, '/sandboxes', `/agent-url?sandbox=${ID}`, `/debug/vars?sandbox=${ID}`, `/debug/pprof/?sandbox=${ID}`, `/debug/pprof/heap?sandbox=${ID}`];

  async function check(h: Harness, good: Record<string, string>, bad: Record<string, string>[], bearer = false): Promise<void> {
    const shim = h.shims.get(ID)!;
    const before = [...shim.requestsByPath.values()].reduce((a, b) => a + b, 0);
    for (const p of protectedPaths) {
      for (const headers of [{}, ...bad]) {
        const r = await h.get(p, headers);
        // 401; Hono's bearer check answers a header of another scheme 400 (RFC 6750 invalid_request).
        const malformed = /^Basic /.test(headers.Authorization ?? '') && bearer;
        assert.ok(r.status === 401 || (malformed && r.status === 400), `${p} with ${JSON.stringify(headers)} → ${r.status}`);
        assert.equal(r.headers['x-content-type-options'], 'nosniff', `${p} 401 nosniff`);
        assert.ok(!r.text.includes('sandbox_id') && !r.text.includes(ID), `${p}: nothing leaks in a refusal`);
      }
    }
    assert.equal([...shim.requestsByPath.values()].reduce((a, b) => a + b, 0), before, 'no unauthenticated request reached the shim');
    for (const p of ['/healthz', '/readyz']) assert.equal((await h.get(p)).status, 200, `${p} stays open for probes`);
    for (const p of protectedPaths) assert.equal((await h.get(p, good)).status, 200, `${p} with credentials`);
  }

  test('17a. basic auth: 401 without or with wrong credentials; probes open', async (t) => {
    const h = await startHarness({ receiverYaml: 'auth:\n  basic:\n    username: kata\n    password: s3cret' });
    t.after(() => h.stop());
    await h.addShim(ID, 'ok', 0);
    await h.known(ID);
    const basic = (u: string, p: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    await check(h, basic('kata', 's3cret'), [basic('kata', 'wrong'), basic('other', 's3cret'), { Authorization: 'Bearer s3cret' }, { Authorization: 'Basic !!!' }]);
  });

  test('17b. bearer auth: 401 without or with a wrong token; probes open', async (t) => {
    const h = await startHarness({ receiverYaml: 'auth:\n  bearer:\n    token: t0ken-abc' });
    t.after(() => h.stop());
    await h.addShim(ID, 'ok', 0);
    await h.known(ID);
    await check(h, { Authorization: 'Bearer t0ken-abc' }, [
      { Authorization: 'Bearer wrong' },
      { Authorization: 'Bearer t0ken-abcd' },
      { Authorization: `Basic ${Buffer.from('x:t0ken-abc').toString('base64')}` },
    ], true);
  });
});

describe('safe answers', { timeout: 60_000 }, () => {
  test('18. nosniff on every route; HTML pages escape hostile sandbox ids and pod names', async (t) => {
    const h = await startHarness();
    t.after(() => h.stop());
    const hostileId = '"><img src=x onerror=alert(1)>';
    const hostileId2 = "<svg onload=alert(2)>'&";
    const plainId = 'plain-sb';
    for (const id of [hostileId, hostileId2, plainId]) await h.addShim(id, 'ok', 0);
    h.pods.set(hostileId, { id: hostileId, name: '<script>alert("pod")</script>', uid: 'u"1', namespace: "ns'><b>" });
    h.pods.set(hostileId2, { id: hostileId2, name: '<iframe src=javascript:alert(3)>', uid: 'u2', namespace: 'n&s' });
    h.cri().setPods([...h.pods.values()]);
    for (const id of [hostileId, hostileId2, plainId]) await h.known(id);

    const q = (id: string): string => encodeURIComponent(id);
    const routes = [
      '/',
      '/healthz',
      '/readyz',
      '/metrics',
      `/metrics?sandbox=${q(plainId)}`,
      `/metrics?sandbox=${q(hostileId)}`,
      '/metrics?sandbox=unknown',
      '/sandboxes',
      '/agent-url',
      `/agent-url?sandbox=${q(plainId)}`,
      '/agent-url?sandbox=unknown',
      `/debug/vars?sandbox=${q(plainId)}`,
      `/debug/pprof/?sandbox=${q(plainId)}`,
      `/debug/pprof/heap?sandbox=${q(plainId)}`,
      `/debug/pprof/cmdline?sandbox=${q(plainId)}`,
      `/debug/pprof/symbol?sandbox=${q(plainId)}`,
      `/debug/pprof/unknown?sandbox=${q(plainId)}`,
      '/debug/pprof/heap',
      '/debug/vars?sandbox=unknown',
      '/no/such/path',
    ];
    for (const p of routes) {
      for (const accept of [undefined, 'text/html']) {
        const r = await h.get(p, accept ? { Accept: accept } : {});
        assert.equal(r.headers['x-content-type-options'], 'nosniff', `${p} (${accept ?? 'no Accept'}) → ${r.status} without nosniff`);
      }
    }

    // The exposition stays valid with a quote and angle brackets in label values.
    const text = await h.metrics();
    const families = parseText(text);
    const ids = new Set(families.flatMap((f) => f.metrics.flatMap((m) => m.labels.filter((l) => l.name === 'sandbox_id').map((l) => l.value))));
    for (const id of [hostileId, hostileId2, plainId]) assert.ok(ids.has(id), `sandbox_id ${JSON.stringify(id)} round-trips`);

    for (const p of ['/sandboxes', '/']) {
      const r = await h.get(p, { Accept: 'text/html' });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      // The hostile markup itself (the page has SVG charts of its own).
      for (const tag of ['<img src=x', '<svg onload', '<script>alert', '<iframe src=javascript', "'><b>"]) assert.ok(!r.text.includes(tag), `${p}: raw ${tag} in the page`);
      assert.ok(!r.text.includes(hostileId) && !r.text.includes(hostileId2), `${p}: a raw hostile id`);
      // Present, escaped.
      assert.ok(r.text.includes('&#34;&#62;&#60;img') || r.text.includes('&quot;&gt;&lt;img'), `${p}: the escaped id`);
      // Attribute values stay inside their quotes: no unescaped ' or " from the ids.
      for (const m of r.text.matchAll(/href=(['"])(.*?)\1/g)) assert.ok(!/[<>"'\s]/.test(m[2]!), `${p}: href ${m[2]}`);
    }
    const status = await h.get('/', { Accept: 'text/html' });
    assert.ok(status.text.includes('&#60;script&#62;alert(&#34;pod&#34;)') || status.text.includes('&lt;script&gt;'), 'the pod name, escaped');
  });
});
