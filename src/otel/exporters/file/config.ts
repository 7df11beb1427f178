// The `file` exporter, as contrib's: what would be pushed, in a file, one
// request per line (README.md lists the keys).

import type { ComponentType } from '../../../config/types.ts';
import { leaf, required, type KeyTree } from '../../../config/reader.ts';

export interface FileConfig {
  readonly type: 'file';
  readonly name: string;
  readonly path: string;
  /** json: one OTLP/JSON ExportMetricsServiceRequest per line; proto: each request after its length (uint32, big-endian). */
  readonly format: 'json' | 'proto';
  /** Keep what the file holds at start (else it starts empty). */
  readonly append: boolean;
  /** As contrib: only when the file sets `rotation`, else the file grows. */
  readonly rotation?: { readonly maxMegabytes: number; readonly maxBackups: number; readonly maxDays: number; readonly localTime: boolean };
  readonly createDirectory: boolean;
}

const ROTATION_KEYS = { max_megabytes: leaf, max_backups: leaf, max_days: leaf, localtime: leaf } satisfies KeyTree;

export const fileExporter: ComponentType<FileConfig> = {
  keys: {
    path: leaf,
    format: leaf,
    append: leaf,
    rotation: ROTATION_KEYS,
    flush_interval: leaf,
    create_directory: leaf,
    compression: leaf,
  },
  read(r, { id, entries: m }) {
    const path = required(r, m, 'path') ?? '';
    if (m.has('compression')) r.error(m.get('compression'), 'not supported (zstd): the file is written uncompressed');
    const rot = r.map(m.get('rotation'), ROTATION_KEYS);
    // Checked, nothing to do: each push reaches the file as it is written, there is no buffer to flush.
    r.duration(m.get('flush_interval'), 0);
    return {
      type: 'file',
      name: id,
      path,
      format: r.oneOf(m.get('format'), ['json', 'proto'] as const) ?? 'json',
      append: r.bool(m.get('append')) ?? false,
      ...(rot && m.has('rotation') && {
        rotation: {
          maxMegabytes: r.int(rot.get('max_megabytes'), 1) ?? 100,
          maxBackups: r.int(rot.get('max_backups'), 0) ?? 100,
          maxDays: r.int(rot.get('max_days'), 0) ?? 0,
          localTime: r.bool(rot.get('localtime')) ?? false,
        },
      }),
      createDirectory: r.bool(m.get('create_directory')) ?? false,
    };
  },
};
