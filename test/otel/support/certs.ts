// Certificates for TLS tests, made with the openssl command line into a
// temporary directory: a self-signed CA, and server certificates it signs
// for the names asked (DNS names and IP addresses as subjectAltName).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ServerCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestCa {
  readonly dir: string;
  /** The CA certificate (what a client's tls.ca_file names). */
  readonly caFile: string;
  /** A server certificate signed by this CA, for these DNS names and IP addresses. */
  issue(name: string, altNames: { readonly dns?: readonly string[]; readonly ip?: readonly string[] }): ServerCert;
  remove(): void;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'certs-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=kata-otel-monitor test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  let serial = 0;
  return {
    dir,
    caFile: path.join(dir, 'ca.crt'),
    issue(name, altNames) {
      const base = `server-${++serial}`;
      const san = [...(altNames.dns ?? []).map((d) => `DNS:${d}`), ...(altNames.ip ?? []).map((i) => `IP:${i}`)].join(',');
      writeFileSync(path.join(dir, `${base}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
      openssl(['req', ...ec, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`], dir);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(1000 + serial), '-out', `${base}.crt`, '-days', '2', '-extfile', `${base}.ext`], dir);
      const certFile = path.join(dir, `${base}.crt`);
      const keyFile = path.join(dir, `${base}.key`);
      return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
