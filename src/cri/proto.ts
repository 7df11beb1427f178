// Loads our runtime.v1 subset (proto/cri/api.proto) once, for the client and
// the fake server alike, and gives the one method we use a typed face.

import { packagePath } from '../package-info.ts';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';

export type PodSandboxStateName = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

/** The wire shapes as proto-loader decodes them with LOADER_OPTIONS (camelCase, enums as names, int64 as strings). */
export interface PodSandboxFilterWire {
  id?: string;
  state?: { state: PodSandboxStateName | number } | null;
  labelSelector?: Record<string, string>;
}

export interface ListPodSandboxRequestWire {
  filter?: PodSandboxFilterWire | null;
}

export interface PodSandboxMetadataWire {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface PodSandboxWire {
  id: string;
  metadata: PodSandboxMetadataWire | null;
  /** A number when the runtime sends a state newer than our proto. */
  state: PodSandboxStateName | number;
  /** int64 nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  createdAt: string | number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface ListPodSandboxResponseWire {
  items: PodSandboxWire[];
}

/** The RuntimeService definition (for grpc-js Server.addService) and its ListPodSandbox method. */
interface CriService {
  readonly service: Record<string, MethodDefinition<object, object>>;
  readonly listPodSandbox: MethodDefinition<ListPodSandboxRequestWire, ListPodSandboxResponseWire>;
}

const LOADER_OPTIONS = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true } as const;

let cached: CriService | undefined;

export function criService(): CriService {
  if (cached) return cached;
  const file = packagePath('proto', 'cri', 'api.proto');
  const pkg = loadSync(file, LOADER_OPTIONS);
  const service = pkg['runtime.v1.RuntimeService'];
  const method = service && !('format' in service) ? service['ListPodSandbox'] : undefined;
  if (!service || 'format' in service || !method || method.path !== '/runtime.v1.RuntimeService/ListPodSandbox') {
    throw new Error(`${file} does not define runtime.v1.RuntimeService/ListPodSandbox`);
  }
  // The shapes above describe what LOADER_OPTIONS decode to; proto-loader only types them as object.
  cached = { service, listPodSandbox: method as unknown as CriService['listPodSandbox'] };
  return cached;
}
