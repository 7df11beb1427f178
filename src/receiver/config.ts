// The kata_monitor receiver's configuration: its type, its defaults (all of
// them here, the sandbox roots from shim/socket-path.ts) and its validation.
// It is what kata-monitor's flags set too: a flag given on the command line
// wins over the file, which wins over the default. See README.md beside this file for every key.

import { EndpointError, parseRuntimeEndpoint } from '../cri/endpoint.ts';
import type { ComponentSection } from '../config/types.ts';
import { optional, required, type Field, type KeyTree, type Reader, leaf } from '../config/reader.ts';
import type { ScanLimits } from '../exposition/scan.ts';
import { splitHostPort, type AuthConfig, type ServerConfig, type TlsConfig } from '../server/config.ts';
import type { ShimConfig } from '../shim/client.ts';
import { DEFAULT_SANDBOX_ROOTS } from '../shim/socket-path.ts';
import type { CriConfig } from '../cri/client.ts';
import type { DiscoveryConfig } from '../discovery/watcher.ts';

export const RECEIVER_TYPE = 'kata_monitor';

/** receivers.kata_monitor */
export interface ReceiverConfig {
  readonly server: ServerConfig;
  readonly discovery: DiscoveryConfig;
  readonly cri: CriConfig;
  readonly shim: ShimConfig;
  /** What one sandbox's body may bring: the guest controls it. */
  readonly limits: ScanLimits;
  /** How often the daemon scrapes on its own when nobody asked within that time, and the push interval. */
  readonly collectionIntervalMs: number;
  readonly demo: boolean;
}

export const DEFAULT_RUNTIME_ENDPOINT = '/run/containerd/containerd.sock';
export { DEFAULT_SANDBOX_ROOTS };

export const RECEIVER_DEFAULTS: ReceiverConfig = {
  server: { listenAddress: '127.0.0.1:8090', openMetrics: false, gzipLevel: 1 },
  // Upstream retries a missing root every 60 s; a stat every 5 s is cheap and finds Kata sooner after install.
  discovery: { sandboxRoots: DEFAULT_SANDBOX_ROOTS, rootRetryIntervalMs: 5_000 },
  // Upstream's 5 s for lookups; 2 s per call keeps a hung runtime from holding a lookup long.
  cri: { runtimeEndpoint: DEFAULT_RUNTIME_ENDPOINT, timeoutMs: 2_000, resyncIntervalMs: 5_000, firstLookupDelayMs: 5_000 },
  // Upstream's 3 s shim timeout; 32 shims at once scrape a dense node in a round or two.
  shim: { timeoutMs: 3_000, maxBodyBytes: 64 * 1024 * 1024, concurrency: 32 },
  // Prometheus' own limits for a scrape, on by default here: the guest VM (a tenant) writes the kata_agent_*
  // and kata_guest_* families. A real shim serves ~900 series, at most 2 labels each, values of 30 bytes at most.
  limits: { sampleLimit: 20_000, labelLimit: 30, labelNameLengthLimit: 128, labelValueLengthLimit: 128 },
  collectionIntervalMs: 15_000,
  demo: false,
};

/** What kata-monitor's flags say about the receiver: fields of its config, by the same names. */
export type ReceiverFlags = Pick<ServerConfig, 'listenAddress' | 'openMetrics'> & Pick<CriConfig, 'runtimeEndpoint'> & Pick<DiscoveryConfig, 'sandboxRoots'> & Pick<ReceiverConfig, 'demo'>;

export type ReceiverFlagName = 'listen-address' | 'runtime-endpoint' | 'sandbox-root' | 'openmetrics' | 'demo';

export const RECEIVER_KEYS = {
  listen_address: leaf,
  runtime_endpoint: leaf,
  sandbox_roots: leaf,
  root_retry_interval: leaf,
  collection_interval: leaf,
  openmetrics: leaf,
  gzip_level: leaf,
  demo: leaf,
  tls: { cert_file: leaf, key_file: leaf },
  auth: { basic: { username: leaf, password: leaf }, bearer: { token: leaf } },
  cri: { timeout: leaf, resync_interval: leaf, first_lookup_delay: leaf },
  shim: { timeout: leaf, max_body_bytes: leaf, concurrency: leaf },
  sample_limit: leaf,
  label_limit: leaf,
  label_name_length_limit: leaf,
  label_value_length_limit: leaf,
} satisfies KeyTree;

/**
 * The receiver's section (empty when the file has none) with the flags: a
 * flag on the command line wins, then the file, then the default. Errors go
 * to `r` with key and line (or the flag's name); undefined when there were some.
 */
export function readReceiver(r: Reader, section: ComponentSection, flags: ReceiverFlags, explicit: ReadonlySet<string>): ReceiverConfig | undefined {
  const m = section.entries;
  const before = r.errors.length;
  const pick = <T,>(flag: ReceiverFlagName, fromFile: T | undefined, fromFlag: T): T => (explicit.has(flag) ? fromFlag : (fromFile ?? fromFlag));
  const D = RECEIVER_DEFAULTS;

  const listenAddress = pick('listen-address', r.string(m.get('listen_address')), flags.listenAddress);
  check(r, m.get('listen_address'), 'listen-address', listenAddressProblem(listenAddress), explicit);
  const runtimeEndpoint = pick('runtime-endpoint', r.string(m.get('runtime_endpoint')), flags.runtimeEndpoint);
  check(r, m.get('runtime_endpoint'), 'runtime-endpoint', runtimeEndpointProblem(runtimeEndpoint), explicit);
  const sandboxRoots = pick('sandbox-root', readSandboxRoots(r, m.get('sandbox_roots')), flags.sandboxRoots);
  const openMetrics = pick('openmetrics', r.bool(m.get('openmetrics')), flags.openMetrics);
  const demo = pick('demo', r.bool(m.get('demo')), flags.demo);

  const cri = r.map(m.get('cri'), RECEIVER_KEYS.cri);
  const shim = r.map(m.get('shim'), RECEIVER_KEYS.shim);
  const config: ReceiverConfig = {
    server: {
      listenAddress,
      ...optional('tls', readTls(r, m.get('tls'))),
      ...optional('auth', readAuth(r, m.get('auth'))),
      openMetrics,
      gzipLevel: r.int(m.get('gzip_level'), 1, 9) ?? D.server.gzipLevel,
    },
    discovery: {
      sandboxRoots,
      rootRetryIntervalMs: r.duration(m.get('root_retry_interval'), 1) ?? D.discovery.rootRetryIntervalMs,
    },
    cri: {
      runtimeEndpoint,
      timeoutMs: (cri && r.duration(cri.get('timeout'), 1)) ?? D.cri.timeoutMs,
      resyncIntervalMs: (cri && r.duration(cri.get('resync_interval'), 1)) ?? D.cri.resyncIntervalMs,
      firstLookupDelayMs: (cri && r.duration(cri.get('first_lookup_delay'), 0)) ?? D.cri.firstLookupDelayMs,
    },
    shim: {
      timeoutMs: (shim && r.duration(shim.get('timeout'), 1)) ?? D.shim.timeoutMs,
      maxBodyBytes: (shim && r.size(shim.get('max_body_bytes'), 1)) ?? D.shim.maxBodyBytes,
      concurrency: (shim && r.int(shim.get('concurrency'), 1)) ?? D.shim.concurrency,
    },
    // 0 turns a limit off, as in Prometheus.
    limits: {
      sampleLimit: r.int(m.get('sample_limit'), 0) ?? D.limits.sampleLimit,
      labelLimit: r.int(m.get('label_limit'), 0) ?? D.limits.labelLimit,
      labelNameLengthLimit: r.int(m.get('label_name_length_limit'), 0) ?? D.limits.labelNameLengthLimit,
      labelValueLengthLimit: r.int(m.get('label_value_length_limit'), 0) ?? D.limits.labelValueLengthLimit,
    },
    collectionIntervalMs: r.duration(m.get('collection_interval'), 1) ?? D.collectionIntervalMs,
    demo,
  };
  return r.errors.length > before ? undefined : config;
}

function readSandboxRoots(r: Reader, field: Field): string[] | undefined {
  const roots = r.strings(field);
  if (roots === undefined) return undefined;
  if (roots.length === 0) r.error(field, 'at least one sandbox root is needed');
  for (const [i, root] of roots.entries()) {
    if (root.trim() === '') r.error(field, 'a sandbox root must not be empty');
    else if (roots.indexOf(root) < i) r.error(field, `"${root}" is listed twice`);
  }
  return roots;
}

function readTls(r: Reader, field: Field): TlsConfig | undefined {
  const m = r.map(field, RECEIVER_KEYS.tls);
  if (!m || r.isNull(field)) return undefined;
  const certFile = r.string(m.get('cert_file'), { nonEmpty: true });
  const keyFile = r.string(m.get('key_file'), { nonEmpty: true });
  if (!m.has('cert_file')) r.error(m.get('cert_file'), 'required when tls is set');
  if (!m.has('key_file')) r.error(m.get('key_file'), 'required when tls is set');
  return certFile && keyFile ? { certFile, keyFile } : undefined;
}

function readAuth(r: Reader, field: Field): AuthConfig | undefined {
  const m = r.map(field, RECEIVER_KEYS.auth);
  if (!m || r.isNull(field)) return undefined;
  if (m.has('basic') && m.has('bearer')) return r.error(field, 'set either basic or bearer, not both');
  if (m.has('basic')) {
    const basic = r.map(m.get('basic'), RECEIVER_KEYS.auth.basic);
    if (!basic) return undefined;
    const username = required(r, basic, 'username');
    const password = required(r, basic, 'password');
    if (username?.includes(':')) r.error(basic.get('username'), 'must not contain ":" (it separates user and password in Basic auth)');
    return username !== undefined && password !== undefined ? { type: 'basic', username, password } : undefined;
  }
  if (m.has('bearer')) {
    const bearer = r.map(m.get('bearer'), RECEIVER_KEYS.auth.bearer);
    const token = bearer && required(r, bearer, 'token');
    return token !== undefined ? { type: 'bearer', token } : undefined;
  }
  return r.error(field, 'set basic (username, password) or bearer (token)');
}

/** A problem with a value that came from the file or a flag: the flag is blamed when it was given. */
function check(r: Reader, field: Field, flag: ReceiverFlagName, problem: string | undefined, explicit: ReadonlySet<string>): void {
  if (!problem) return;
  if (explicit.has(flag)) r.errors.push(`config error: flag -${flag}: ${problem}`);
  else r.error(field, problem);
}

/** What the server would refuse (server/config.ts is the one grammar), said at load. */
export function listenAddressProblem(value: string): string | undefined {
  const hostPort = splitHostPort(value);
  return !hostPort || hostPort.port > 65535 ? `invalid listen address "${value}" (expected host:port, e.g. 127.0.0.1:8090 or :8090)` : undefined;
}

/** What the CRI client would refuse (cri/endpoint.ts is the one grammar), said at load. */
export function runtimeEndpointProblem(value: string): string | undefined {
  if (value.trim() === '') return 'the runtime endpoint must not be empty';
  try {
    parseRuntimeEndpoint(value);
    return undefined;
  } catch (e) {
    if (!(e instanceof EndpointError)) throw e;
    return e.message.startsWith('invalid runtime endpoint') ? e.message : `invalid runtime endpoint "${value}": ${e.message} (use unix:// or tcp://)`;
  }
}

