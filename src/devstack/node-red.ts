/**
 * Runs a real Node-RED 4.1 runtime as a child process (`node red.js`), the way users run it,
 * with this package made visible through a symlink in the userDir's node_modules (quick, and
 * the runtime loads our dist/ exactly as it would load an installed package).
 * Used by `npm start` and by the e2e/packaging tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ensurePrivateDir, writePrivateFile } from './private-files';

export interface NodeRedOptions {
  /** Node-RED's userDir (created when missing). */
  userDir: string;
  /** Port on 127.0.0.1; required (use freePort() for a free one). */
  port: number;
  /** Secret that encrypts flows_cred.json. */
  credentialSecret: string;
  /**
   * Package directories to link into userDir/node_modules by their package.json name.
   * Omit to link nothing (e.g. when a tarball was npm-installed into the userDir).
   */
  linkPackages?: string[];
  /** node-red's red.js; defaults to the one resolvable from this package. */
  redJs?: string;
  /** Log file for the runtime's stdout/stderr; default userDir/node-red.log. */
  logFile?: string;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Milliseconds to wait for the admin API; default 60 s. */
  startTimeoutMs?: number;
}

export interface RunningNodeRed {
  url: string;
  port: number;
  userDir: string;
  logFile: string;
  flowFile: string;
  credFile: string;
  pid: number;
  /** The runtime log so far. */
  readLog(): string;
  /** Resolves when the runtime process has exited (for whatever reason). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGINT (Node-RED stops its flows and exits), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** The settings file for a loopback-only runtime with telemetry, tours and projects off. */
export function nodeRedSettingsSource(options: { credentialSecret: string; port: number }): string {
  return `'use strict';
// Written by @gpflow/node-red-greenplum's devstack: a loopback-only Node-RED for development.
// Everything Node-RED writes from here on (flows_cred.json with the credentials, flows.json,
// backups, .config.*.json) is private to this user: its file storage uses the process umask.
process.umask(0o077);
// When the parent that started us goes away (even killed), stop too: no orphan runtimes.
if (typeof process.send === 'function') {
  process.on('disconnect', () => process.kill(process.pid, 'SIGINT'));
}
module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${JSON.stringify(options.port)},
  flowFile: 'flows.json',
  flowFilePretty: true,
  credentialSecret: ${JSON.stringify(options.credentialSecret)},
  telemetry: { enabled: false, updateNotification: false },
  diagnostics: { enabled: false },
  editorTheme: { tours: false },
  logging: { console: { level: 'info', metrics: false, audit: false } },
  exportGlobalContextKeys: false,
};
`;
}

/** Symlinks a package directory into userDir/node_modules under its package.json name. */
export function linkPackage(userDir: string, packageDir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { name: string };
  const target = path.join(userDir, 'node_modules', ...pkg.name.split('/'));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.rmSync(target, { recursive: true, force: true });
  fs.symlinkSync(path.resolve(packageDir), target, 'dir');
  return target;
}

/** GET a loopback URL; resolves with status and body, rejects on connection errors. */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n');
}

export async function startNodeRed(options: NodeRedOptions): Promise<RunningNodeRed> {
  const userDir = path.resolve(options.userDir);
  // settings.js holds credentialSecret (the key of flows_cred.json): 0600 in a 0700 folder.
  ensurePrivateDir(userDir);
  const settingsFile = path.join(userDir, 'settings.js');
  writePrivateFile(settingsFile, nodeRedSettingsSource({ credentialSecret: options.credentialSecret, port: options.port }));
  if (!fs.existsSync(path.join(userDir, 'package.json'))) {
    writePrivateFile(
      path.join(userDir, 'package.json'),
      JSON.stringify({ name: 'node-red-project', description: 'Node-RED userDir', version: '0.0.1', private: true }, null, 2) + '\n',
    );
  }
  for (const dir of options.linkPackages ?? []) linkPackage(userDir, dir);

  const redJs = options.redJs ?? require.resolve('node-red/red.js');
  const logFile = options.logFile ?? path.join(userDir, 'node-red.log');
  const logFd = fs.openSync(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [redJs, '--userDir', userDir, '--settings', settingsFile, '--port', String(options.port)],
      {
        cwd: userDir,
        // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the stack
        // in order (Node-RED first, so its flows can still commit to the database).
        detached: true,
        // An IPC channel only so the child notices when we are gone (see the settings file).
        stdio: ['ignore', logFd, logFd, 'ipc'],
        env: { ...process.env, NODE_RED_ENABLE_TOURS: 'false', ...options.env },
      },
    );
  } finally {
    fs.closeSync(logFd);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  // The IPC channel must not keep our event loop alive on its own.
  child.channel?.unref();
  const readLog = (): string => {
    try {
      return fs.readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const url = `http://127.0.0.1:${options.port}`;

  const stop = async (graceMs = 15_000): Promise<void> => {
    if (exited) return;
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exitPromise;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) {
      const e = exited as { code: number | null; signal: NodeJS.Signals | null };
      throw new Error(`Node-RED exited during start (code ${e.code}, signal ${e.signal}); log ${logFile}:\n${tail(readLog())}`);
    }
    try {
      const res = await httpGet(`${url}/settings`);
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop(2000);
      throw new Error(`Node-RED did not answer on ${url}/settings in time; log ${logFile}:\n${tail(readLog())}`);
    }
    await sleep(200);
  }

  return {
    url,
    port: options.port,
    userDir,
    logFile,
    flowFile: path.join(userDir, 'flows.json'),
    credFile: path.join(userDir, 'flows_cred.json'),
    pid: child.pid ?? 0,
    readLog,
    exited: exitPromise,
    stop,
  };
}
