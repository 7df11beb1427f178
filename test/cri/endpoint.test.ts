import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointError, parseRuntimeEndpoint } from '../../src/cri/endpoint.ts';

describe('parseRuntimeEndpoint (--runtime-endpoint)', () => {
  const accepted = [
    { input: 'unix:///run/containerd/containerd.sock', protocol: 'unix', address: '/run/containerd/containerd.sock', target: 'unix:///run/containerd/containerd.sock' },
    { input: 'unix:///var/run/crio/crio.sock', protocol: 'unix', address: '/var/run/crio/crio.sock', target: 'unix:///var/run/crio/crio.sock' },
    { input: 'unix:///run/a%20b.sock', protocol: 'unix', address: '/run/a b.sock', target: 'unix:///run/a b.sock' },
    { input: 'tcp://127.0.0.1:1234', protocol: 'tcp', address: '127.0.0.1:1234', target: 'dns:127.0.0.1:1234' },
    { input: 'tcp://localhost:1234/', protocol: 'tcp', address: 'localhost:1234', target: 'dns:localhost:1234' },
    { input: 'tcp://[::1]:1234', protocol: 'tcp', address: '[::1]:1234', target: 'dns:[::1]:1234' },
  ] as const;
  for (const c of accepted) {
    test(`${c.input} → ${c.protocol} ${c.address}, no warning`, () => {
      const e = parseRuntimeEndpoint(c.input);
      assert.deepEqual(e, { protocol: c.protocol, address: c.address, target: c.target });
    });
  }

  test('a bare absolute path (the default) is a unix socket, without a warning: upstream prefixes unix:// silently', () => {
    assert.deepEqual(parseRuntimeEndpoint('/run/containerd/containerd.sock'), {
      protocol: 'unix',
      address: '/run/containerd/containerd.sock',
      target: 'unix:///run/containerd/containerd.sock',
    });
  });

  test('a bare relative path is a unix socket relative to the working directory', () => {
    assert.equal(parseRuntimeEndpoint('containerd.sock').target, 'unix:containerd.sock');
  });

  const refused = [
    { input: 'http://127.0.0.1:1234', message: 'protocol "http" not supported' },
    { input: 'npipe:////./pipe/containerd', message: 'protocol "npipe" not supported' },
    { input: 'vsock://3:1024', message: 'protocol "vsock" not supported' },
    { input: '', message: /runtime endpoint missing/ },
    { input: 'unix://run/containerd.sock', message: /must be absolute/ },
    { input: 'tcp://127.0.0.1', message: /tcp:\/\/host:port/ },
    { input: 'tcp://127.0.0.1:99999', message: /tcp:\/\/host:port/ },
  ] as const;
  for (const c of refused) {
    test(`${JSON.stringify(c.input)} is refused: ${c.message}`, () => {
      assert.throws(
        () => parseRuntimeEndpoint(c.input),
        (err: unknown) => {
          assert.ok(err instanceof EndpointError);
          assert.equal(err.endpoint, c.input);
          if (typeof c.message === 'string') assert.equal(err.message, c.message);
          else assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }
});
