/**
 * A private PostgreSQL cluster started from the system's PostgreSQL binaries.
 * Used by the test harness (a throwaway cluster per run) and by `npm start`
 * (a persistent cluster under .devstack/). PostgreSQL refuses to run as root, so
 * when we are root every server-side command runs as the `postgres` OS user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { withPrivateTempFile } from './private-files';

export interface PostgresCluster {
  /** postgres://user:password@127.0.0.1:port/postgres */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  /** Stops the server; with removeData also deletes the data directory. */
  stop(options?: { removeData?: boolean }): void;
}

export interface StartPostgresOptions {
  /** Data directory; created and initialised when empty or missing. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 or undefined picks a free one. */
  port?: number;
  user?: string;
  password?: string;
  /** Turns off fsync and friends: for throwaway clusters only. */
  fast?: boolean;
  /** Extra postgresql.conf lines. */
  settings?: Record<string, string | number>;
  log?: (line: string) => void;
}

const POSTGRES_INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with ' +
  '`sudo apt-get install -y postgresql` (Debian/Ubuntu), or set DATABASE_URL / TEST_DATABASE_URL ' +
  'to an existing server.';

/** Finds the directory holding initdb and pg_ctl: PG_BIN, then Debian's layout, then PATH. */
export function findPostgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debianRoot = '/usr/lib/postgresql';
  if (fs.existsSync(debianRoot)) {
    const versions = fs
      .readdirSync(debianRoot)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(path.join(debianRoot, v, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(dir);
  return postgresBinDirFrom(candidates);
}

/** The first directory holding initdb and pg_ctl, or an error saying how to install them. */
export function postgresBinDirFrom(candidates: readonly string[]): string {
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) {
      // /usr/local/bin/initdb may be a symlink into the real bin dir; pg_ctl finds postgres beside itself.
      return path.dirname(fs.realpathSync(path.join(dir, 'pg_ctl')));
    }
  }
  throw new Error(POSTGRES_INSTALL_HINT);
}

/** Asks the kernel for a free loopback TCP port. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL server-side binary, as the postgres OS user when we are root. */
function runPg(binDir: string, command: string, args: string[]): string {
  const file = path.join(binDir, command);
  const [exe, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  try {
    return execFileSync(exe, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

function chownToPostgres(target: string): void {
  if (isRoot()) execFileSync('chown', ['-R', 'postgres:', target]);
}

/**
 * Running as root, PostgreSQL runs as the postgres OS user, which must traverse the data
 * dir's parent (e.g. .devstack/, or a 0700 mkdtemp folder): the parent gets the postgres
 * user's group and g+x only — no read, and nothing for others. Not root: nothing to do.
 */
export function openParentToPostgres(parent: string): void {
  if (!isRoot()) return;
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  const st = fs.statSync(parent);
  fs.chownSync(parent, st.uid, gid);
  fs.chmodSync(parent, (st.mode & 0o777 & ~0o007) | 0o010);
}

/** Initialises (if needed) and starts a cluster listening on 127.0.0.1 only. */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresCluster> {
  const binDir = findPostgresBinDir();
  const user = options.user ?? 'postgres';
  const password = options.password ?? 'postgres';
  const dataDir = path.resolve(options.dataDir);
  const log = options.log ?? (() => undefined);
  const port = options.port || (await freePort());

  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  openParentToPostgres(path.dirname(dataDir));
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising PostgreSQL cluster in ${dataDir}`);
    fs.chmodSync(dataDir, 0o700);
    chownToPostgres(dataDir);
    // The password file lives in a fresh 0700 folder with an unpredictable name (readable by
    // the postgres user only), not under a guessable name in the shared temp dir.
    withPrivateTempFile('gpflow-initdb-', password + '\n', (pwFile) => {
      runPg(binDir, 'initdb', [
        '-D', dataDir,
        '-U', user,
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E', 'UTF8',
        '--locale=C',
        '--no-instructions',
        ...(options.fast ? ['--no-sync'] : []),
      ]);
    }, chownToPostgres);
  }
  const settings: Record<string, string | number> = {
    listen_addresses: "'127.0.0.1'",
    port,
    unix_socket_directories: `'${dataDir}'`,
    // The socket sits in the 0700 data dir anyway; say so on the socket too (default 0777).
    unix_socket_permissions: '0700',
    max_connections: 200,
    shared_buffers: "'128MB'",
    ...(options.fast
      ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_wal_size: "'2GB'" }
      : {}),
    ...options.settings,
  };
  const confLines = Object.entries(settings).map(([k, v]) => `${k} = ${v}`);
  fs.writeFileSync(path.join(dataDir, 'postgresql.auto.conf'), confLines.join('\n') + '\n');
  chownToPostgres(path.join(dataDir, 'postgresql.auto.conf'));

  log(`starting PostgreSQL on 127.0.0.1:${port}`);
  runPg(binDir, 'pg_ctl', ['-D', dataDir, '-l', path.join(dataDir, 'server.log'), '-w', '-t', '60', 'start']);

  const host = '127.0.0.1';
  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/postgres`;
  let stopped = false;
  return {
    url,
    host,
    port,
    user,
    password,
    dataDir,
    stop({ removeData = false } = {}) {
      if (!stopped) {
        stopped = true;
        const mode = removeData ? 'immediate' : 'fast';
        const file = path.join(binDir, 'pg_ctl');
        const args = ['-D', dataDir, '-m', mode, '-w', 'stop'];
        const [exe, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
        spawnSync(exe, argv, { stdio: 'ignore' });
      }
      if (removeData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** True when a server answers on this data directory's pid file (used to reuse a running cluster). */
export function isClusterRunning(dataDir: string): boolean {
  const binDir = findPostgresBinDir();
  const file = path.join(binDir, 'pg_ctl');
  const args = ['-D', dataDir, 'status'];
  const [exe, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return spawnSync(exe, argv, { stdio: 'ignore' }).status === 0;
}

/**
 * Stops the server running on this data directory, if any (a cluster left running by a
 * previous `npm start` that was killed). `fast` rolls back open transactions and exits cleanly.
 */
export function stopCluster(dataDir: string, mode: 'fast' | 'immediate' = 'fast'): void {
  const binDir = findPostgresBinDir();
  const file = path.join(binDir, 'pg_ctl');
  const args = ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'];
  const [exe, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  spawnSync(exe, argv, { stdio: 'ignore' });
}

/** The postmaster's pid from postmaster.pid, or 0 when the file is missing or unreadable. */
export function postmasterPid(dataDir: string): number {
  try {
    const first = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    return Number(first) || 0;
  } catch {
    return 0;
  }
}
