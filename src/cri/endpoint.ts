// The CRI runtime endpoint as kata-monitor accepts it (--runtime-endpoint):
// unix:///path, tcp://host:port, or a bare path, which is taken as a unix
// socket without a word (upstream prefixes it with unix:// before its
// client could warn; its own default is a bare path). Any other scheme is refused.

export interface RuntimeEndpoint {
  readonly protocol: 'unix' | 'tcp';
  /** Socket path for unix, host:port for tcp. */
  readonly address: string;
  /** What to hand to grpc-js as the channel target. */
  readonly target: string;
}

export class EndpointError extends Error {
  override readonly name = 'EndpointError';
  readonly endpoint: string;
  constructor(endpoint: string, message: string) {
    super(message);
    this.endpoint = endpoint;
  }
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

export function parseRuntimeEndpoint(endpoint: string): RuntimeEndpoint {
  const text = endpoint.trim();
  if (text === '') throw new EndpointError(endpoint, 'runtime endpoint missing: set --runtime-endpoint, e.g. unix:///run/containerd/containerd.sock');
  const scheme = SCHEME.exec(text)?.[1];
  if (scheme === undefined) return unix(endpoint, text);
  switch (scheme.toLowerCase()) {
    case 'unix': {
      if (!text.startsWith(`${scheme}://`)) throw new EndpointError(endpoint, `invalid runtime endpoint "${endpoint}": use unix:///absolute/path`);
      const rest = text.slice(scheme.length + 3);
      if (!rest.startsWith('/')) {
        throw new EndpointError(endpoint, `invalid runtime endpoint "${endpoint}": the socket path must be absolute, e.g. unix:///run/containerd/containerd.sock`);
      }
      return unix(endpoint, decodePath(endpoint, rest.split(/[?#]/, 1)[0] ?? ''));
    }
    case 'tcp':
      return tcp(endpoint, text.slice(scheme.length + 1));
    default:
      throw new EndpointError(endpoint, `protocol "${scheme}" not supported`);
  }
}

function unix(endpoint: string, socketPath: string): RuntimeEndpoint {
  if (socketPath === '') throw new EndpointError(endpoint, `invalid runtime endpoint "${endpoint}": empty socket path`);
  // grpc-js: unix:///abs for absolute paths, unix:rel for relative ones.
  return { protocol: 'unix', address: socketPath, target: socketPath.startsWith('/') ? `unix://${socketPath}` : `unix:${socketPath}` };
}

function tcp(endpoint: string, afterScheme: string): RuntimeEndpoint {
  if (!afterScheme.startsWith('//')) throw new EndpointError(endpoint, `invalid runtime endpoint "${endpoint}": use tcp://host:port`);
  // Like Go's url.Parse: the authority ends at the first '/', '?' or '#'.
  const authority = afterScheme.slice(2).split(/[/?#]/, 1)[0] ?? '';
  const hostPort = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  const m = /^(\[[0-9A-Fa-f:.%\w]+\]|[^:[\]]+):(\d{1,5})$/.exec(hostPort);
  if (!m || Number(m[2]) > 65535) {
    throw new EndpointError(endpoint, `invalid runtime endpoint "${endpoint}": use tcp://host:port (an IPv6 host in brackets)`);
  }
  return { protocol: 'tcp', address: hostPort, target: `dns:${hostPort}` };
}

function decodePath(endpoint: string, p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new EndpointError(endpoint, `invalid runtime endpoint "${endpoint}": bad percent-encoding in the path`);
  }
}
