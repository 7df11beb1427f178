// The demo's fake CRI server (src/demo/fake-cri.ts) with what tests need on
// top: a TCP listener, a delay before every answer, the calls recorded, and
// a restart on the same socket and port.

import type { sendUnaryData } from '@grpc/grpc-js';
import type { ListPodSandboxResponseWire, PodSandboxFilterWire, PodSandboxStateName } from '../../src/cri/proto.ts';
import { FakeCriServer as DemoCriServer, bind, type FakeCriOptions as DemoCriOptions } from '../../src/demo/fake-cri.ts';

export type { FakePod } from '../../src/demo/fake-cri.ts';

export interface FakeCriOptions extends DemoCriOptions {
  /** Also serve on 127.0.0.1; 0 picks a free port. */
  readonly tcpPort?: number;
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

export class FakeCriServer extends DemoCriServer {
  #tcpPort: number | undefined;
  /** Delay before every answer; change it at any time. */
  delayMs: number;
  readonly requests: FakeCriRequest[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();

  protected constructor(options: FakeCriOptions) {
    super(options);
    this.#tcpPort = options.tcpPort;
    this.delayMs = options.delayMs ?? 0;
  }

  static override async start(options: FakeCriOptions): Promise<FakeCriServer> {
    const fake = new FakeCriServer(options);
    await fake.listen();
    return fake;
  }

  /** tcp://127.0.0.1:port (after start, when a tcpPort was asked for). */
  get tcpEndpoint(): string {
    if (this.#tcpPort === undefined) throw new Error('FakeCriServer was started without tcpPort');
    return `tcp://127.0.0.1:${this.#tcpPort}`;
  }

  /** Starts again on the same socket path and TCP port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen();
  }

  /** Stops at once: open connections are cut, delayed calls get no answer. */
  override async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await super.stop();
  }

  protected override async listen(): Promise<void> {
    await super.listen();
    if (this.#tcpPort !== undefined) this.#tcpPort = await bind(this.server!, `127.0.0.1:${this.#tcpPort}`);
  }

  protected override answer(filter: PodSandboxFilterWire | undefined, callback: sendUnaryData<ListPodSandboxResponseWire>): void {
    this.requests.push({ at: Date.now(), stateFilter: filter?.state?.state ?? undefined, idFilter: filter?.id ?? '', labelSelector: { ...filter?.labelSelector } });
    if (this.delayMs <= 0) return super.answer(filter, callback);
    const t = setTimeout(() => {
      this.#timers.delete(t);
      super.answer(filter, callback);
    }, this.delayMs);
    this.#timers.add(t);
  }
}
