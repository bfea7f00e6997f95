/**
 * File modes of the local stack. Everything under .devstack/ is private to the user running
 * `npm start`: it holds the generated database password and OSS key (secrets.json), Node-RED's
 * credentialSecret (settings.js) and the credentials it encrypts (flows_cred.json), logs and
 * demo data. Files are 0600 and folders 0700; the one exception is the stack folder itself
 * when `npm start` runs as root, which the postgres OS user must be able to traverse to reach
 * its data directory (0710, group postgres — see startPostgres).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** umask for every file the stack (and the Node-RED it starts) creates: no group/other bits. */
export const PRIVATE_UMASK = 0o077;

/** Creates `dir` (and parents) if needed and makes it 0700, also when it already existed. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

/** Writes `file` as 0600; an existing file (e.g. from an older version) is made 0600 too. */
export function writePrivateFile(file: string, data: string): void {
  fs.writeFileSync(file, data, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/**
 * Takes group and other permissions off everything below `root` (folders end up 0700, files
 * 0600, executables 0700; symlinks left alone; names in `skip` not entered). For files from
 * older versions or written before the umask applied. Files that vanish while walking (a
 * running service's temporary files) are ignored.
 */
export function tightenTree(root: string, skip: ReadonlySet<string> = new Set()): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (skip.has(e.name) || e.isSymbolicLink()) continue;
    const full = path.join(root, e.name);
    try {
      if (!e.isDirectory() && !e.isFile()) continue;
      const mode = fs.statSync(full).mode & 0o7777;
      if ((mode & 0o077) !== 0) fs.chmodSync(full, mode & ~0o077);
      if (e.isDirectory()) tightenTree(full);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/**
 * Runs `task` with `content` in a file inside a fresh private folder (mkdtemp: 0700, a name
 * nobody can predict), owned by `chownTo` when given (e.g. the postgres user that must read
 * it), and removes folder and file afterwards, whatever happened.
 */
export function withPrivateTempFile<T>(prefix: string, content: string, task: (file: string) => T, chownTo?: (target: string) => void): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, content, { mode: 0o600 });
    chownTo?.(dir);
    return task(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
