// Client of the expfmt oracle (test/interop/expfmt-oracle): one Go process
// per test file, one JSON line per request and per answer, answers matched
// to requests in order. Bodies and answers travel as base64 so that bytes
// which are not UTF-8 reach Go, and come back, exactly.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface OracleSandbox {
  readonly id: string;
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly body: Buffer;
}

export interface OracleAnswer {
  /** Sandboxes Go's parser refused, by id: Go's error (`panic: …` when the parser panicked). */
  readonly rejected: Readonly<Record<string, string>>;
  /** What upstream writes for the accepted sandboxes, families sorted by name. */
  readonly text: Buffer;
  /** Set when Go's encoder refused a family: upstream stops there, `text` is what it wrote until then. */
  readonly encodeError: string | undefined;
  /** The negotiated Content-Type. */
  readonly format: string;
  /** Families one body yields twice under one name (go_x and kata_shim_go_x): their order in upstream is Go's map order. */
  readonly ambiguous: readonly string[];
  /** With `ambiguous` families: upstream's other possible output (those families in the other order). */
  readonly textAlt: Buffer | undefined;
}

interface Wire {
  rejected?: Record<string, string>;
  text64?: string;
  textAlt64?: string;
  encodeError?: string;
  format?: string;
  ambiguous?: string[];
  error?: string;
}

interface Pending {
  resolve(answer: OracleAnswer): void;
  reject(error: Error): void;
}

export class ExpfmtOracle {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending: Pending[] = [];
  readonly #exited: Promise<void>;
  #stderr = '';
  #dead: Error | undefined;

  constructor(binary: string) {
    this.#child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-4000);
    });
    createInterface({ input: this.#child.stdout, crlfDelay: Infinity }).on('line', (line) => this.#answer(line));
    // A write after the oracle died fails here rather than as an unhandled error.
    this.#child.stdin.on('error', (e) => this.#fail(e));
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#fail(new Error(`expfmt oracle exited (${signal ?? code})${this.#stderr ? `: ${this.#stderr}` : ''}`));
        resolve();
      });
    });
  }

  /** Upstream's /metrics for these sandboxes; `accept` is the scraper's Accept header (none by default). */
  ask(sandboxes: readonly OracleSandbox[], accept = ''): Promise<OracleAnswer> {
    if (this.#dead) return Promise.reject(this.#dead);
    const request = {
      accept,
      sandboxes: sandboxes.map((s) => ({ id: s.id, uid: s.uid, name: s.name, namespace: s.namespace, body64: s.body.toString('base64') })),
    };
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#child.stdin.write(JSON.stringify(request) + '\n');
    });
  }

  /** Closes stdin and waits for the process; kills it if it lingers. */
  async stop(): Promise<void> {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  #answer(line: string): void {
    const p = this.#pending.shift();
    if (!p) return;
    const w = JSON.parse(line) as Wire;
    if (w.error !== undefined) {
      p.reject(new Error(`expfmt oracle: ${w.error}`));
      return;
    }
    p.resolve({
      rejected: w.rejected ?? {},
      text: Buffer.from(w.text64 ?? '', 'base64'),
      encodeError: w.encodeError,
      format: w.format ?? '',
      ambiguous: w.ambiguous ?? [],
      textAlt: w.textAlt64 === undefined ? undefined : Buffer.from(w.textAlt64, 'base64'),
    });
  }

  #fail(e: Error): void {
    this.#dead ??= e;
    for (const p of this.#pending.splice(0)) p.reject(this.#dead);
  }
}
