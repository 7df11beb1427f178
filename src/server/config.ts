// The HTTP server's settings (receivers.kata_monitor: listen_address, tls, auth, openmetrics, gzip_level).

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

export type AuthConfig =
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  | { readonly type: 'bearer'; readonly token: string };

/** The HTTP server that answers kata-monitor's endpoints. */
export interface ServerConfig {
  /** host:port, as upstream's --listen-address. */
  readonly listenAddress: string;
  readonly tls?: TlsConfig;
  readonly auth?: AuthConfig;
  /** Answer OpenMetrics when a client prefers it. Off: upstream never does. */
  readonly openMetrics: boolean;
  /** zlib level for gzip answers (1 fastest … 9 smallest). */
  readonly gzipLevel: number;
}

/**
 * host:port as Go's net.Listen takes it: ":8090", "0.0.0.0:8090", "[::1]:8090";
 * undefined when it is not. The port is not checked against 65535.
 */
export function splitHostPort(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Za-z:.%]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  // Go: an empty host listens on every interface.
  return m ? { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) } : undefined;
}
