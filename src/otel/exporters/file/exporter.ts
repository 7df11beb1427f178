// The file exporter, as contrib's (README.md): each request written to the
// file as it comes, in order; shutdown waits for the last write, so what was
// pushed is in the file once the daemon has stopped.

import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../log/logger.ts';
import { formsOf } from '../../requests.ts';
import type { Exporter } from '../exporter.ts';
import type { FileConfig } from './config.ts';

const NEWLINE = Buffer.from('\n');

export function fileExporter(config: FileConfig, pipeline: string, logger: Logger): Exporter {
  const { path: file, format, rotation } = config;
  let handle: FileHandle | undefined;
  let size = 0;
  let chain: Promise<void> = Promise.resolve();
  let points = 0;
  let failures = 0;
  let lastError: string | undefined;

  const write = async (bytes: Uint8Array, n: number): Promise<void> => {
    try {
      const framed = format === 'json' ? [bytes, NEWLINE] : [lengthOf(bytes), bytes];
      const length = bytes.length + (format === 'json' ? NEWLINE.length : 4);
      if (rotation && size > 0 && size + length > rotation.maxMegabytes * 1024 * 1024) await rotate(rotation);
      await handle!.writev(framed);
      size += length;
      points += n;
    } catch (e) {
      failures++;
      lastError = e instanceof Error ? e.message : String(e);
      logger.error('file exporter: write failed', { path: file, error: lastError });
    }
  };

  /** The current file becomes a backup named after the time (UTC unless localtime), the oldest backups beyond the bounds go. */
  const rotate = async (r: NonNullable<FileConfig['rotation']>): Promise<void> => {
    await handle!.close();
    const ext = path.extname(file);
    const base = file.slice(0, file.length - ext.length);
    const now = new Date();
    const stamp = (r.localTime ? new Date(now.getTime() - now.getTimezoneOffset() * 60_000) : now).toISOString().replace(/Z$/, '').replace(/:/g, '-');
    await rename(file, `${base}-${stamp}${ext}`);
    handle = await open(file, 'w', 0o640);
    size = 0;
    const dir = path.dirname(file);
    const prefix = `${path.basename(base)}-`;
    const backups = (await readdir(dir)).filter((n) => n.startsWith(prefix) && n.endsWith(ext)).sort();
    const tooOld = r.maxDays > 0 ? now.getTime() - r.maxDays * 86_400_000 : -Infinity;
    for (let k = 0; k < backups.length; k++) {
      const name = path.join(dir, backups[k]!);
      const old = (await stat(name)).mtimeMs < tooOld;
      if (old || (r.maxBackups > 0 && k < backups.length - r.maxBackups)) await unlink(name).catch(() => undefined);
    }
  };

  return {
    id: config.name,
    pipeline,
    forms: formsOf({ encoding: format, gzip: false }),
    /** Opens the file (a directory that is missing is a start-up error unless create_directory). */
    async start() {
      const dir = path.dirname(file);
      try {
        if (config.createDirectory) await mkdir(dir, { recursive: true, mode: 0o750 });
        handle = await open(file, config.append ? 'a' : 'w', 0o640);
        size = (await handle.stat()).size;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const missing = err.code === 'ENOENT' && !existsSync(dir);
        throw new Error(
          `exporter ${config.name}: ${missing ? `directory ${dir} does not exist (create it, or set create_directory: true)` : `cannot open ${file}: ${err.message}`}`,
        );
      }
    },
    export(request) {
      const bytes = request.bytes(format, false);
      chain = chain.then(() => write(bytes, request.points));
      return true;
    },
    status: () => ({ id: config.name, pipeline, endpoint: file, written: { points, failures, ...(lastError !== undefined && { lastError }) } }),
    async shutdown() {
      await chain;
      await handle?.close();
      handle = undefined;
      return lastError === undefined;
    },
  };
}

function lengthOf(bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(bytes.length, 0);
  return b;
}
