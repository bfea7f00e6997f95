/**
 * Where `npm start` keeps its PostgreSQL data directory. Normally `<stack dir>/pg`. Running
 * as root (a root shell, most Docker images), PostgreSQL runs as the `postgres` OS user,
 * which cannot traverse a checkout under e.g. /root (mode 0700): initdb would fail with
 * "Permission denied". Then the data goes to a private folder of the postgres user under
 * /var/tmp (or the OS temp dir), named after the stack dir so the next start finds it again.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PostgresPlace {
  dataDir: string;
  /** Set when the data is not under the stack dir: why, and where it went (for the output). */
  relocated?: string;
}

export interface PlaceOptions {
  /** Default: the process runs as root. */
  isRoot?: boolean;
  /** Whether the postgres OS user can traverse a directory (default: asks the OS). */
  postgresCanTraverse?: (dir: string) => boolean;
  /** Candidate parents of the private folder, first usable wins (default /var/tmp, os.tmpdir()). */
  tempRoots?: string[];
}

/** `test -x` as the postgres user: fails when any directory on the way is closed to it. */
export function postgresCanTraverse(dir: string): boolean {
  return spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { stdio: 'ignore' }).status === 0;
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The private folder's name: stable for one stack dir, distinct for two checkouts. */
export function privateFolderName(stackDir: string): string {
  return `gpflow-devstack-pg-${createHash('sha256').update(path.resolve(stackDir)).digest('hex').slice(0, 12)}`;
}

/**
 * The data directory for the stack in `stackDir`. The stack opens `stackDir` itself to the
 * postgres user; everything above it must already be traversable, or the data moves to a
 * 0700 folder owned by postgres (an existing folder of that name owned by anyone else, or
 * not a plain directory, is refused rather than used).
 */
export function choosePostgresDataDir(stackDir: string, options: PlaceOptions = {}): PostgresPlace {
  const isRoot = options.isRoot ?? (typeof process.getuid === 'function' && process.getuid() === 0);
  const canTraverse = options.postgresCanTraverse ?? postgresCanTraverse;
  const home = path.resolve(stackDir);
  if (!isRoot || canTraverse(path.dirname(home))) return { dataDir: path.join(home, 'pg') };

  const roots = options.tempRoots ?? [...new Set(['/var/tmp', os.tmpdir()])];
  const root = roots.find((r) => fs.existsSync(r) && canTraverse(r));
  if (!root) {
    throw new Error(
      `the postgres OS user cannot reach ${path.dirname(home)} nor any of ${roots.join(', ')} ` +
        '(PostgreSQL runs as postgres when npm start runs as root). Set GPFLOW_DEVSTACK_DIR to a directory it can reach, ' +
        'or DATABASE_URL to an existing server.',
    );
  }
  const folder = path.join(root, privateFolderName(home));
  const { uid, gid } = postgresIds();
  try {
    fs.mkdirSync(folder, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(folder);
  if (!st.isDirectory() || (st.uid !== uid && st.uid !== 0)) {
    throw new Error(
      `${folder} exists but is not a directory of the postgres user; remove it, or set GPFLOW_DEVSTACK_DIR to a directory the postgres OS user can reach`,
    );
  }
  fs.chownSync(folder, uid, gid);
  fs.chmodSync(folder, 0o700);
  return {
    dataDir: path.join(folder, 'pg'),
    relocated:
      `the postgres OS user cannot reach ${path.dirname(home)} (npm start runs as root, PostgreSQL as postgres): ` +
      `its data is in ${folder} (private to postgres) instead; set GPFLOW_DEVSTACK_DIR to choose the place`,
  };
}
