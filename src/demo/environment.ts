// A simulated Kata host for newcomers and the benchmark: sandbox roots in a
// temporary directory, one simulated shim per sandbox on its real unix socket
// serving changing payloads, and a simulated CRI server that knows the pods
// (plus a runc pod that has no sandbox and must never show up).

import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeCriServer, type FakePod } from './fake-cri.ts';
import { startFakeShim, type FakeShim } from './fake-shim.ts';
import { createShimPayload } from './payload.ts';
import { shimSocketCandidates } from '../shim/socket-path.ts';
import type { Logger } from '../log/logger.ts';

export interface DemoOptions {
  /** Sandboxes to simulate (default 4). */
  readonly sandboxes?: number;
  /** Replace one sandbox with a new one every this many ms (0: never). */
  readonly churnMs?: number;
  readonly logger?: Logger;
}

/** How often the daemon's demo replaces a sandbox: pods come and go on a real node too. */
export const DEMO_CHURN_MS = 60_000;

export type DemoEnvironment = Awaited<ReturnType<typeof startDemo>>;

const NAMESPACES = ['default', 'payments', 'web', 'batch'];
const APPS = ['nginx', 'redis', 'api', 'worker', 'postgres', 'envoy'];

export async function startDemo(options: DemoOptions = {}) {
  // Short-named: a unix socket path must stay under 108 bytes.
  const dir = await mkdtemp(path.join(tmpdir(), 'km-'));
  // Go-runtime root first, then runtime-rs root, like the real defaults.
  const roots: readonly string[] = [path.join(dir, 'vc', 'sbs'), path.join(dir, 'kata')];
  for (const r of roots) await mkdir(r, { recursive: true });
  const sandboxes = new Map<string, { readonly shim: FakeShim; readonly pod: FakePod }>();
  const cri = await FakeCriServer.start({ socketPath: path.join(dir, 'containerd.sock') });
  // A pod CRI knows that runs under runc: it has no sandbox directory.
  const runcPod: FakePod = { id: hexId(999_999), name: 'runc-pod', uid: uuid(999_999), namespace: 'default', runtimeHandler: 'runc' };
  let serial = 0;

  // The Kata pods CRI currently answers with.
  const pods = (): FakePod[] => [...sandboxes.values()].map((s) => s.pod);
  const publish = (): void => cri.setPods([...pods(), runcPod]);

  const addSandbox = async (given?: string): Promise<string> => {
    const n = ++serial;
    const id = given ?? hexId(n);
    // Every fourth sandbox runs under runtime-rs' root.
    const root = roots[n % 4 === 0 ? 1 : 0]!;
    const shim = await startFakeShim({ socketPath: shimSocketCandidates(id, [root])[0]!, metrics: createShimPayload(id) });
    const pod = {
      id,
      name: `${APPS[n % APPS.length]}-${id.slice(0, 5)}`,
      uid: uuid(n),
      namespace: NAMESPACES[n % NAMESPACES.length]!,
    };
    sandboxes.set(id, { shim, pod });
    publish();
    return id;
  };

  const removeSandbox = async (id: string): Promise<void> => {
    const shim = sandboxes.get(id)?.shim;
    sandboxes.delete(id);
    publish();
    await shim?.close();
    for (const r of roots) await rm(path.join(r, id), { recursive: true, force: true });
  };

  for (let i = 0; i < (options.sandboxes ?? 4); i++) await addSandbox();

  let churn: NodeJS.Timeout | undefined;
  if (options.churnMs) {
    churn = setInterval(() => {
      const oldest = sandboxes.keys().next().value;
      void (async () => {
        if (oldest !== undefined) await removeSandbox(oldest);
        const id = await addSandbox();
        options.logger?.info('demo: replaced a sandbox', { removed: oldest, added: id });
      })();
    }, options.churnMs);
    churn.unref();
  }

  // What the churn does, for the log and the status page.
  const churnNote = options.churnMs
    ? `every ${Math.round(options.churnMs / 1000)} s the oldest simulated sandbox is replaced by a new one (a copied sandbox id then stops working)`
    : 'the simulated sandboxes stay as they are';
  return {
    dir,
    churnNote,
    roots,
    runtimeEndpoint: cri.endpoint,
    cri,
    runcPod,
    ids: (): string[] => [...sandboxes.keys()],
    pods,
    addSandbox,
    removeSandbox,
    async stop(): Promise<void> {
      if (churn) clearInterval(churn);
      await Promise.all([...sandboxes.values()].map((s) => s.shim.close()));
      await cri.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** 64 hex characters, like containerd's sandbox ids. */
function hexId(n: number): string {
  let h = 2166136261 ^ n;
  let out = '';
  while (out.length < 64) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ Math.imul(h ^ (h >>> 13), 3266489909);
    out += (h >>> 0).toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}

function uuid(n: number): string {
  const h = hexId(n + 7_777_777);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
