// The file exporter, as contrib's (README.md): each request written to the
// file as it comes, in order; shutdown waits for the last write, so what was
// pushed is in the file once the daemon has stopped.

import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../log/logger.ts';
import { formsOf, type OtlpRequest } from '../../requests.ts';
import type { Exporter, ExporterStatus } from '../exporter.ts';
import type { FileConfig } from './config.ts';

const NEWLINE = Buffer.from('\n');

export class FileExporter implements Exporter {
  readonly id: string;
  readonly pipeline: string;
  readonly forms;
  readonly #config: FileConfig;
  readonly #log: Logger;
  #file: FileHandle | undefined;
  #size = 0;
  #chain: Promise<void> = Promise.resolve();
  #requests = 0;
  #points = 0;
  #failures = 0;
  #lastError: string | undefined;

  constructor(config: FileConfig, pipeline: string, logger: Logger) {
    this.id = config.name;
    this.pipeline = pipeline;
    this.#config = config;
    this.#log = logger;
    this.forms = formsOf({ encoding: config.format, gzip: false });
  }

  /** Opens the file (a directory that is missing is a start-up error unless create_directory). */
  async start(): Promise<void> {
    const { path: file, createDirectory, append } = this.#config;
    const dir = path.dirname(file);
    try {
      if (createDirectory) await mkdir(dir, { recursive: true, mode: 0o750 });
      this.#file = await open(file, append ? 'a' : 'w', 0o640);
      this.#size = (await this.#file.stat()).size;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const missing = err.code === 'ENOENT' && !existsSync(dir);
      throw new Error(
        `exporter ${this.id}: ${missing ? `directory ${dir} does not exist (create it, or set create_directory: true)` : `cannot open ${file}: ${err.message}`}`,
      );
    }
  }

  export(request: OtlpRequest): boolean {
    const bytes = request.bytes(this.#config.format, false);
    this.#chain = this.#chain.then(() => this.#write(bytes, request.points));
    return true;
  }

  async #write(bytes: Uint8Array, points: number): Promise<void> {
    try {
      const framed = this.#config.format === 'json' ? [bytes, NEWLINE] : [lengthOf(bytes), bytes];
      const n = bytes.length + 4 - (this.#config.format === 'json' ? 3 : 0);
      const rotation = this.#config.rotation;
      if (rotation && this.#size > 0 && this.#size + n > rotation.maxMegabytes * 1024 * 1024) await this.#rotate(rotation);
      await this.#file!.writev(framed);
      this.#size += n;
      this.#requests++;
      this.#points += points;
    } catch (e) {
      this.#failures++;
      this.#lastError = e instanceof Error ? e.message : String(e);
      this.#log.error('file exporter: write failed', { path: this.#config.path, error: this.#lastError });
    }
  }

  /** The current file becomes a backup named after the time (UTC unless localtime), the oldest backups beyond the bounds go. */
  async #rotate(rotation: NonNullable<FileConfig['rotation']>): Promise<void> {
    const file = this.#config.path;
    await this.#file!.close();
    const ext = path.extname(file);
    const base = file.slice(0, file.length - ext.length);
    const now = new Date();
    const stamp = (rotation.localTime ? new Date(now.getTime() - now.getTimezoneOffset() * 60_000) : now).toISOString().replace(/Z$/, '').replace(/:/g, '-');
    await rename(file, `${base}-${stamp}${ext}`);
    this.#file = await open(file, 'w', 0o640);
    this.#size = 0;
    const dir = path.dirname(file);
    const prefix = `${path.basename(base)}-`;
    const backups = (await readdir(dir)).filter((n) => n.startsWith(prefix) && n.endsWith(ext)).sort();
    const tooOld = rotation.maxDays > 0 ? now.getTime() - rotation.maxDays * 86_400_000 : -Infinity;
    for (let k = 0; k < backups.length; k++) {
      const name = path.join(dir, backups[k]!);
      const old = (await stat(name)).mtimeMs < tooOld;
      if (old || (rotation.maxBackups > 0 && k < backups.length - rotation.maxBackups)) await unlink(name).catch(() => undefined);
    }
  }

  status(): ExporterStatus {
    return {
      id: this.id,
      pipeline: this.pipeline,
      endpoint: this.#config.path,
      written: { requests: this.#requests, points: this.#points, failures: this.#failures, ...(this.#lastError !== undefined && { lastError: this.#lastError }) },
    };
  }

  async shutdown(): Promise<boolean> {
    await this.#chain;
    await this.#file?.close();
    this.#file = undefined;
    return this.#lastError === undefined;
  }
}

function lengthOf(bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(bytes.length, 0);
  return b;
}
