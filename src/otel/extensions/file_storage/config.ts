// The `file_storage` extension, as contrib's: a directory where exporters'
// sending queues keep their batches across restarts (README.md).

import type { ComponentType } from '../../../config/types.ts';
import { leaf } from '../../../config/reader.ts';

export interface FileStorageConfig {
  readonly type: 'file_storage';
  readonly name: string;
  readonly directory: string;
  /** Create the directory (with directoryPermissions) when missing; otherwise a missing one is a start-up error. */
  readonly createDirectory: boolean;
  readonly directoryPermissions: number;
  /** fsync each batch written: survives a power loss, not only a crash, at the cost of a disk flush per batch. */
  readonly fsync: boolean;
  /** Start with an empty queue: what a previous run left is deleted. */
  readonly recreate: boolean;
}

/** The collector's default on Linux, with our name. */
export const DEFAULT_STORAGE_DIRECTORY = '/var/lib/kata-monitor/file_storage';

export const fileStorageExtension: ComponentType<FileStorageConfig> = {
  keys: {
    directory: leaf,
    create_directory: leaf,
    directory_permissions: leaf,
    fsync: leaf,
    recreate: leaf,
    timeout: leaf,
    compaction: { on_start: leaf, on_rebound: leaf, directory: leaf, max_transaction_size: leaf, rebound_needed_threshold_mib: leaf, rebound_trigger_threshold_mib: leaf, check_interval: leaf, cleanup_on_start: leaf },
  },
  read(r, { id, entries: m }) {
    const directory = r.string(m.get('directory'), { nonEmpty: true }) ?? DEFAULT_STORAGE_DIRECTORY;
    if (!directory.startsWith('/')) r.error(m.get('directory'), `must be an absolute path, got "${directory}"`);
    if (m.has('compaction')) r.warn(m.get('compaction'), 'ignored: a batch is a file of its own, removed once delivered; there is nothing to compact');
    if (m.has('timeout')) r.duration(m.get('timeout'), 0); // checked; the storage opens no database to wait for
    const perms = r.string(m.get('directory_permissions')) ?? '0750';
    const octal = /^0?[0-7]{3}$/.test(perms);
    if (!octal) r.error(m.get('directory_permissions'), `invalid permissions "${perms}" (octal, e.g. "0750")`);
    return {
      type: 'file_storage',
      name: id,
      directory,
      createDirectory: r.bool(m.get('create_directory')) ?? false,
      directoryPermissions: octal ? Number.parseInt(perms, 8) : 0o750,
      fsync: r.bool(m.get('fsync')) ?? false,
      recreate: r.bool(m.get('recreate')) ?? false,
    };
  },
};
