// A CRI RuntimeService client for the one call kata-monitor makes:
// ListPodSandbox filtered to READY pods, with a deadline per call.
//
// One channel is reused across calls (upstream dials a new connection every
// time). grpc-js reconnects on its own, but with exponential backoff up to
// 2 minutes: after a long containerd restart the first calls would keep
// failing fast for that long. So when a call fails as UNAVAILABLE the channel
// is dropped and the next call dials a fresh one (with a private subchannel
// pool, or grpc-js would hand back the same backed-off subchannel).

import { grpcDetail } from '../wire/grpc-detail.ts';
import { Client, credentials, Metadata, status, type CallOptions, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { parseRuntimeEndpoint, type RuntimeEndpoint } from './endpoint.ts';
import { criService, type ListPodSandboxRequestWire, type PodSandboxMetadataWire, type PodSandboxWire } from './proto.ts';

/** What the CRI side is configured with (receivers.kata_monitor: runtime_endpoint, cri.*). */
export interface CriConfig {
  /** unix:///path, tcp://host:port, or a bare path (a unix socket). */
  readonly runtimeEndpoint: string;
  /** Per ListPodSandbox call. */
  readonly timeoutMs: number;
  /** How often the runtime is asked again (sandboxes still missing metadata, and its health). */
  readonly resyncIntervalMs: number;
  /** Delay before a new sandbox is first looked up (upstream: 5 s). */
  readonly firstLookupDelayMs: number;
}

export interface PodSandbox {
  readonly id: string;
  readonly metadata: Readonly<PodSandboxMetadataWire>;
}

export type CriErrorCode = 'unavailable' | 'timeout' | 'other';

export class CriError extends Error {
  override readonly name = 'CriError';
  readonly code: CriErrorCode;
  /** The gRPC status code, when the failure came from a call. */
  readonly grpcCode: number | undefined;
  constructor(code: CriErrorCode, message: string, grpcCode?: number, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.grpcCode = grpcCode;
  }
}

export interface CriClientOptions {
  /** As --runtime-endpoint: unix:///path, tcp://host:port or a bare path. */
  readonly endpoint: string;
  /** Deadline of each call. */
  readonly timeoutMs: number;
}

const CHANNEL_OPTIONS: Partial<ChannelOptions> = {
  // A fresh channel must not reuse a subchannel stuck in reconnect backoff.
  'grpc.use_local_subchannel_pool': 1,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 5_000,
  // Like the kubelet: a node with many pods and large annotations exceeds the 4 MiB default.
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
};

export class CriClient {
  readonly endpoint: RuntimeEndpoint;
  readonly timeoutMs: number;
  #client: Client | undefined;
  #closed = false;

  /** Throws EndpointError for an endpoint kata-monitor would refuse. */
  constructor(options: CriClientOptions) {
    this.endpoint = parseRuntimeEndpoint(options.endpoint);
    this.timeoutMs = options.timeoutMs;
    if (!(this.timeoutMs > 0)) throw new RangeError(`CRI timeout must be > 0 ms, got ${this.timeoutMs}`);
  }

  /** Pods in state SANDBOX_READY, the filter kata-monitor sends. */
  listReadyPodSandboxes(): Promise<PodSandbox[]> {
    if (this.#closed) return Promise.reject(new CriError('other', 'CRI client is closed'));
    const { listPodSandbox: method } = criService();
    const client = (this.#client ??= new Client(this.endpoint.target, credentials.createInsecure(), CHANNEL_OPTIONS));
    const request: ListPodSandboxRequestWire = {
      filter: { id: '', state: { state: 'SANDBOX_READY' }, labelSelector: {} },
    };
    const options: CallOptions = { deadline: Date.now() + this.timeoutMs };
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new Metadata({ waitForReady: false }), // fail fast while the runtime is down
        options,
        (err, response) => {
          if (err) {
            if (err.code === status.UNAVAILABLE) this.#dropChannel(client);
            reject(this.#toCriError(err));
            return;
          }
          resolve((response?.items ?? []).map(toPodSandbox));
        },
      );
    });
  }

  close(): void {
    this.#closed = true;
    this.#client?.close();
    this.#client = undefined;
  }

  #dropChannel(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.close();
  }

  #toCriError(err: ServiceError): CriError {
    const where = `CRI runtime endpoint ${this.endpoint.target}`;
    const detail = grpcDetail(err);
    const fail = (code: CriErrorCode, message: string): CriError => new CriError(code, message, err.code, { cause: err });
    switch (err.code) {
      case status.UNAVAILABLE:
        return fail('unavailable', `cannot reach ${where}: ${detail}; make sure the endpoint exists (--runtime-endpoint) and you run as root`);
      case status.DEADLINE_EXCEEDED:
        return fail('timeout', `ListPodSandbox on ${where} did not answer within ${this.timeoutMs} ms`);
      case status.UNIMPLEMENTED:
        return fail('other', `${where} does not serve CRI runtime.v1 ListPodSandbox (${detail}); is the CRI plugin enabled and is this the container runtime's socket?`);
      default:
        return fail('other', `ListPodSandbox on ${where} failed: ${status[err.code] ?? err.code}: ${detail}`);
    }
  }
}

function toPodSandbox(p: PodSandboxWire): PodSandbox {
  const m = p.metadata;
  return {
    id: p.id,
    metadata: { name: m?.name ?? '', uid: m?.uid ?? '', namespace: m?.namespace ?? '', attempt: m?.attempt ?? 0 },
  };
}
