// The file_storage extension: a directory per exporter's queue, a file per
// batch (README.md, "On disk": the layout, and what survives what). A file
// that does not read back whole and intact is set aside (*.corrupt), logged
// and counted, never sent and never fatal.

import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../../../log/logger.ts';
import type { BatchStore, Payload, QueuedBatch, QueueForm } from '../../exporters/helper/queue.ts';
import type { FileStorageConfig } from './config.ts';

const MAGIC = Buffer.from('KMQ1');
const HEADER = 17;
const FLAG_JSON = 1;
const FLAG_GZIP = 2;

/** The extension: start() checks its directory, queue() gives an exporter's queue in it. */
export function fileStorage(config: FileStorageConfig) {
  const { directory, name } = config;
  return {
    /** Checks (or creates) the directory: missing or not writable is a start-up error naming it (the daemon does not start). */
    async start(): Promise<void> {
      const st = await stat(directory).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw new Error(`extension ${name}: cannot use ${directory}: ${e.message}`);
      });
      if (st && !st.isDirectory()) throw new Error(`extension ${name}: ${directory} is not a directory`);
      if (!st) {
        if (!config.createDirectory) throw new Error(`extension ${name}: directory ${directory} does not exist (create it, or set create_directory: true)`);
        await mkdir(directory, { recursive: true, mode: config.directoryPermissions });
      }
      try {
        await access(directory, constants.W_OK | constants.R_OK | constants.X_OK);
      } catch {
        throw new Error(`extension ${name}: directory ${directory} is not writable by this process (uid ${process.getuid?.() ?? '?'})`);
      }
    },
    /** The queue of one exporter (`owner`: e.g. exporter_otlp/backend_metrics, made a directory name), in the form it sends. */
    queue: (owner: string, form: QueueForm, logger: Logger): BatchStore => directoryQueue(config, path.join(directory, owner.replace(/[^A-Za-z0-9._-]/g, '_')), form, logger),
  };
}

function directoryQueue(config: FileStorageConfig, dir: string, form: QueueForm, log: Logger): BatchStore {
  const { encoding, gzip } = form;
  let seq = 0;
  /** Batch files found unreadable, set aside as *.corrupt. */
  let corrupt = 0;
  /** Writes happen one after another, in sequence order. */
  let writing: Promise<unknown> = Promise.resolve();
  let ready: Promise<void> | undefined;

  const open = (): Promise<void> =>
    (ready ??= (async () => {
      if (config.recreate) await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: config.directoryPermissions });
    })());

  /** Runs `op` after every write and deletion asked for before it (one chain: the order on disk is the order asked). */
  const chain = <T>(op: () => Promise<T>): Promise<T> => {
    const done = writing.then(op);
    writing = done.catch(() => undefined);
    return done;
  };

  const setAside = async (file: string, why: unknown): Promise<void> => {
    corrupt++;
    log.warn('OTLP batch file unreadable: set aside, not sent', { file, error: why instanceof Error ? why.message : String(why) });
    await rename(file, `${file}.corrupt`).catch(() => undefined);
  };

  const batch = (file: string, points: number, bytes: number, stored: Promise<void>): QueuedBatch => ({
    points,
    bytes,
    stored,
    payload: async () => {
      try {
        return await readBatch(file);
      } catch (e) {
        await setAside(file, e);
        throw e;
      }
    },
    discard: () => {
      void chain(() => unlink(file).catch(() => undefined));
    },
  });

  return {
    persistent: true,
    get corrupt() {
      return corrupt;
    },
    form,
    /** Settles once what was added is written and what was discarded is deleted. */
    flush: () => writing.then(() => undefined),
    add(request) {
      const payload = request.bytes(encoding, gzip);
      const file = path.join(dir, `${String(++seq).padStart(12, '0')}.batch`);
      const write = chain(async () => {
        await open();
        await writeBatch(file, request.points, { bytes: payload, encoding, gzip }, config.fsync);
      });
      write.catch((e: unknown) => log.error('OTLP batch could not be written to storage', { file, error: e instanceof Error ? e.message : String(e) }));
      // Only the file holds the bytes once written: the queue's memory follows its metadata, not its payloads.
      return batch(file, request.points, payload.length, write);
    },
    async restore() {
      await open();
      const names = (await readdir(dir)).sort();
      const out: QueuedBatch[] = [];
      for (const name of names) {
        const file = path.join(dir, name);
        if (name.endsWith('.tmp')) {
          await unlink(file).catch(() => undefined); // a write cut short: the batch never made it to the queue
          continue;
        }
        if (!name.endsWith('.batch')) continue;
        const n = Number(name.slice(0, -'.batch'.length));
        if (Number.isSafeInteger(n)) seq = Math.max(seq, n);
        try {
          // The header and the file's size: a batch cut short shows here; its checksum is checked when it is sent.
          const { points, length } = await readHeader(file);
          out.push(batch(file, points, length, Promise.resolve()));
        } catch (e) {
          await setAside(file, e);
        }
      }
      if (out.length > 0) log.info('OTLP queue restored from storage', { directory: dir, batches: out.length });
      return out;
    },
  };
}

async function writeBatch(file: string, points: number, payload: Payload, fsync: boolean): Promise<void> {
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header[4] = (payload.encoding === 'json' ? FLAG_JSON : 0) | (payload.gzip ? FLAG_GZIP : 0);
  header.writeUInt32BE(points, 5);
  header.writeUInt32BE(payload.bytes.length, 9);
  header.writeUInt32BE(crc32(payload.bytes), 13);
  const tmp = `${file}.tmp`;
  try {
    await writeFile(tmp, [header, payload.bytes], { mode: 0o640, flush: fsync });
    await rename(tmp, file);
    if (fsync) {
      // The rename itself reaches the disk only when the directory is synced: without it a power loss can forget the newest batch.
      const dir = await open(path.dirname(file), 'r');
      await dir.sync().finally(() => dir.close());
    }
  } catch (e) {
    await unlink(tmp).catch(() => undefined); // a full disk keeps no half-written batch
    throw e;
  }
}

/** A batch file's header (or more) checked: the magic, and a file `size` that holds the whole payload; returns the payload's length. */
function checkHeader(file: string, header: Buffer, size: number): number {
  if (header.length < HEADER || !header.subarray(0, 4).equals(MAGIC)) throw new Error(`${file}: not a batch file`);
  const length = header.readUInt32BE(9);
  if (size !== HEADER + length) throw new Error(`${file}: truncated (${size - HEADER} of ${length} bytes)`);
  return length;
}

/** A batch file's points and payload length, checked against the file's size (no payload read). */
async function readHeader(file: string): Promise<{ readonly points: number; readonly length: number }> {
  const fh = await open(file, 'r');
  try {
    const header = Buffer.alloc(HEADER);
    const { bytesRead } = await fh.read(header, 0, HEADER, 0);
    const length = checkHeader(file, header.subarray(0, bytesRead), (await fh.stat()).size);
    return { points: header.readUInt32BE(5), length };
  } finally {
    await fh.close();
  }
}

async function readBatch(file: string): Promise<Payload> {
  const data = await readFile(file);
  checkHeader(file, data, data.length);
  const flags = data[4]!;
  const bytes = data.subarray(HEADER);
  if (crc32(bytes) !== data.readUInt32BE(13)) throw new Error(`${file}: checksum mismatch`);
  return { bytes, encoding: flags & FLAG_JSON ? 'json' : 'proto', gzip: (flags & FLAG_GZIP) !== 0 };
}
