import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SANDBOX_ROOTS,
  InvalidSandboxIdError,
  shimSocketCandidates,
} from '../../src/shim/socket-path.ts';

describe('shimSocketCandidates', () => {
  test('is <root>/<id>/shim-monitor.sock per root, Go runtime root first', () => {
    assert.deepEqual(shimSocketCandidates('abc123'), ['/run/vc/sbs/abc123/shim-monitor.sock', '/run/kata/abc123/shim-monitor.sock']);
    assert.deepEqual(DEFAULT_SANDBOX_ROOTS, ['/run/vc/sbs', '/run/kata']);
  });

  test('keeps the order of the roots it is given', () => {
    assert.deepEqual(shimSocketCandidates('x', ['/b', '/a/']), ['/b/x/shim-monitor.sock', '/a/x/shim-monitor.sock']);
  });

  test('refuses ids that are not a plain directory name', () => {
    for (const id of ['', '.', '..', 'a/b', '../etc', 'a\0b', 'x'.repeat(256)]) {
      assert.throws(() => shimSocketCandidates(id), InvalidSandboxIdError);
    }
  });

  test('accepts real sandbox ids and other plain names', () => {
    for (const id of ['3f1c2e8a9b7d4c6e5f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6', 'pod-1', '...', 'x'.repeat(255)]) {
      assert.deepEqual(shimSocketCandidates(id, ['/r']), [`/r/${id}/shim-monitor.sock`], id);
    }
  });

  test('the error tells the operator what is wrong', () => {
    assert.throws(() => shimSocketCandidates('../etc'), { message: `invalid sandbox id "../etc": it contains '/'` });
  });
});
