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
