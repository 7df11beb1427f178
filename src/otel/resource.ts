// The OTel Resource that every exported metric carries: who we are and which
// node we run on. Semantic-convention keys; configured attributes win.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';

export interface ResourceOptions {
  /** Extra attributes (telemetry.resource in the YAML); they override ours. */
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly hostName?: string;
  /** Defaults to a random UUID per process, as the semantic conventions recommend. */
  readonly instanceId?: string;
  readonly serviceVersion?: string;
}

/** Env vars a DaemonSet typically fills from the downward API (spec.nodeName). */
const NODE_NAME_VARS = ['K8S_NODE_NAME', 'NODE_NAME', 'KUBE_NODE_NAME'] as const;

export function buildResource(options: ResourceOptions = {}): Resource {
  const env = options.env ?? process.env;
  const attrs: Record<string, string | number | boolean> = {
    'service.name': 'kata-monitor',
    'service.instance.id': options.instanceId ?? randomUUID(),
    'host.name': options.hostName ?? hostname(),
  };
  if (options.serviceVersion) attrs['service.version'] = options.serviceVersion;
  const node = NODE_NAME_VARS.map((v) => env[v]).find(Boolean);
  if (node) attrs['k8s.node.name'] = node;
  Object.assign(attrs, options.attributes);
  return resourceFromAttributes(attrs);
}
