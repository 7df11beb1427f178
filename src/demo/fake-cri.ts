// A real CRI RuntimeService (only ListPodSandbox) on grpc-js, serving a list
// of pods we control: for tests, the demo mode and the benchmark. It honours
// the request's state and id filters like containerd does, so a client that
// forgets the READY filter sees NOTREADY pods.

import { rm } from 'node:fs/promises';
import { Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import {
  criService,
  type ListPodSandboxRequestWire,
  type ListPodSandboxResponseWire,
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
  readonly socketPath?: string;
  /** Also (or only) serve on 127.0.0.1; 0 picks a free port. */
  readonly tcpPort?: number;
  readonly pods?: readonly FakePod[];
  /** Delay before every answer: a slow CRI. */
  readonly delayMs?: number;
}

/** A recorded request, as the server decoded it. */
export interface FakeCriRequest {
  /** ms since epoch when the server received it. */
  readonly at: number;
  readonly stateFilter: PodSandboxStateName | number | undefined;
  readonly idFilter: string;
  readonly labelSelector: Readonly<Record<string, string>>;
}

export class FakeCriServer {
  readonly socketPath: string | undefined;
  #tcpPort: number | undefined;
  /** Delay before every answer; change it at any time. */
  delayMs: number;
  /** ListPodSandbox calls received (including ones still delayed or failed). */
  calls = 0;
  readonly requests: FakeCriRequest[] = [];
  #pods: PodSandboxWire[] = [];
  #failure: { code: status; message: string } | undefined;
  #server: Server | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(options: FakeCriOptions) {
    if (options.socketPath === undefined && options.tcpPort === undefined) {
      throw new Error('FakeCriServer needs a socketPath, a tcpPort, or both');
    }
    this.socketPath = options.socketPath;
    this.#tcpPort = options.tcpPort;
    this.delayMs = options.delayMs ?? 0;
    this.setPods(options.pods ?? []);
  }

  static async start(options: FakeCriOptions): Promise<FakeCriServer> {
    const fake = new FakeCriServer(options);
    await fake.restart();
    return fake;
  }

  /** unix:///path, for CriClient / --runtime-endpoint. */
  get endpoint(): string {
    if (this.socketPath === undefined) return this.tcpEndpoint;
    return `unix://${this.socketPath}`;
  }

  /** tcp://127.0.0.1:port (after start, when a tcpPort was asked for). */
  get tcpEndpoint(): string {
    if (this.#tcpPort === undefined) throw new Error('FakeCriServer was started without tcpPort');
    return `tcp://127.0.0.1:${this.#tcpPort}`;
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

  /** Starts (again) on the same socket path and TCP port. */
  async restart(): Promise<void> {
    if (this.#server) await this.stop();
    const server = new Server();
    const { service } = criService();
    server.addService(service, { ListPodSandbox: this.#handle });
    const creds = ServerCredentials.createInsecure();
    if (this.socketPath !== undefined) {
      await rm(this.socketPath, { force: true }); // a stale socket file makes bind fail
      await bind(server, `unix://${this.socketPath}`, creds);
    }
    if (this.#tcpPort !== undefined) this.#tcpPort = await bind(server, `127.0.0.1:${this.#tcpPort}`, creds);
    this.#server = server;
  }

  /** Stops at once: open connections are cut, delayed calls get no answer. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    server.forceShutdown();
    if (this.socketPath !== undefined) await rm(this.socketPath, { force: true });
  }

  readonly #handle = (
    call: ServerUnaryCall<ListPodSandboxRequestWire, ListPodSandboxResponseWire>,
    callback: sendUnaryData<ListPodSandboxResponseWire>,
  ): void => {
    this.calls++;
    const filter = call.request.filter ?? undefined;
    const request: FakeCriRequest = {
      at: Date.now(),
      stateFilter: filter?.state?.state ?? undefined,
      idFilter: filter?.id ?? '',
      labelSelector: { ...filter?.labelSelector },
    };
    this.requests.push(request);
    const answer = (): void => {
      if (this.#failure) {
        callback({ code: this.#failure.code, details: this.#failure.message });
        return;
      }
      callback(null, { items: this.#pods.filter((p) => matches(p, request)) });
    };
    if (this.delayMs <= 0) {
      answer();
      return;
    }
    const t = setTimeout(() => {
      this.#timers.delete(t);
      answer();
    }, this.delayMs);
    this.#timers.add(t);
  };
}

function matches(pod: PodSandboxWire, request: FakeCriRequest): boolean {
  if (request.stateFilter !== undefined && pod.state !== request.stateFilter) return false;
  if (request.idFilter !== '' && pod.id !== request.idFilter) return false;
  return Object.entries(request.labelSelector).every(([k, v]) => pod.labels[k] === v);
}

function bind(server: Server, address: string, creds: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, creds, (err, port) => (err ? reject(new Error(`fake CRI cannot listen on ${address}: ${err.message}`)) : resolve(port)));
  });
}
