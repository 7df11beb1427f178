// A real CRI RuntimeService (only ListPodSandbox) on grpc-js, serving a list
// of pods we control: for the demo mode and the benchmark (the tests' other
// knobs are in test/support/fake-cri.ts). It honours the request's state
// filter like containerd does, so a client that forgets the READY filter sees
// NOTREADY pods. (The id and label filters are not: our client sends none.)

import { rm } from 'node:fs/promises';
import { Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import {
  criService,
  type ListPodSandboxRequestWire,
  type ListPodSandboxResponseWire,
  type PodSandboxFilterWire,
  type PodSandboxStateName,
  type PodSandboxWire,
} from '../cri/proto.ts';

export interface FakePod {
  readonly id: string;
  readonly name?: string;
  readonly uid?: string;
  readonly namespace?: string;
  readonly attempt?: number;
  /** Default SANDBOX_READY. */
  readonly state?: PodSandboxStateName;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Default "kata". */
  readonly runtimeHandler?: string;
  /** Nanoseconds since the epoch; default: when the pod was set. */
  readonly createdAtNs?: bigint;
}

export interface FakeCriOptions {
  /** Unix socket to serve on (an existing file there is replaced). */
  readonly socketPath: string;
  readonly pods?: readonly FakePod[];
}

export class FakeCriServer {
  readonly socketPath: string;
  /** ListPodSandbox calls received (including ones still delayed or failed). */
  calls = 0;
  protected server: Server | undefined;
  #pods: PodSandboxWire[] = [];
  #failure: { code: status; message: string } | undefined;

  protected constructor(options: FakeCriOptions) {
    this.socketPath = options.socketPath;
    this.setPods(options.pods ?? []);
  }

  static async start(options: FakeCriOptions): Promise<FakeCriServer> {
    const fake = new FakeCriServer(options);
    await fake.listen();
    return fake;
  }

  /** unix:///path, for CriClient / --runtime-endpoint. */
  get endpoint(): string {
    return `unix://${this.socketPath}`;
  }

  setPods(pods: readonly FakePod[]): void {
    const now = BigInt(Date.now()) * 1_000_000n;
    this.#pods = pods.map((p) => ({
      id: p.id,
      metadata: { name: p.name ?? '', uid: p.uid ?? '', namespace: p.namespace ?? '', attempt: p.attempt ?? 0 },
      state: p.state ?? 'SANDBOX_READY',
      createdAt: String(p.createdAtNs ?? now),
      labels: { ...p.labels },
      annotations: { ...p.annotations },
      runtimeHandler: p.runtimeHandler ?? 'kata',
    }));
  }

  /** Make every call fail with this gRPC status until cleared with undefined. */
  failWith(failure: { code: status; message: string } | undefined): void {
    this.#failure = failure;
  }

  /** Stops at once: open connections are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.forceShutdown();
    await rm(this.socketPath, { force: true });
  }

  protected async listen(): Promise<void> {
    const server = new Server();
    const handle = (call: ServerUnaryCall<ListPodSandboxRequestWire, ListPodSandboxResponseWire>, callback: sendUnaryData<ListPodSandboxResponseWire>): void => {
      this.calls++;
      this.answer(call.request.filter ?? undefined, callback);
    };
    server.addService(criService().service, { ListPodSandbox: handle });
    await rm(this.socketPath, { force: true }); // a stale socket file makes bind fail
    await bind(server, this.endpoint);
    this.server = server;
  }

  /** Answers one ListPodSandbox call: the tests' fake CRI records and delays it here. */
  protected answer(filter: PodSandboxFilterWire | undefined, callback: sendUnaryData<ListPodSandboxResponseWire>): void {
    if (this.#failure) return callback({ code: this.#failure.code, details: this.#failure.message });
    const state = filter?.state?.state;
    callback(null, { items: this.#pods.filter((p) => state === undefined || p.state === state) });
  }
}

export function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => (err ? reject(new Error(`fake CRI cannot listen on ${address}: ${err.message}`)) : resolve(port)));
  });
}
