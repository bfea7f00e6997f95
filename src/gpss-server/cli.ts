#!/usr/bin/env node
// gpss-pg: run the GPSS-compatible server over a PostgreSQL database.
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { startGpssServer, type GpssServerOptions } from './index';
import { applyLimitFlag, LIMIT_FLAGS, limitFlagsUsage } from './limit-flags';
import { readFlags, type FlagSpec } from '../cli-args';

const USAGE = `Usage: gpss-pg --database postgres://USER@HOST:PORT/DB [options]

  --listen HOST:PORT       gRPC listen address (default 127.0.0.1:5000; port 0 = any free port).
                           A non-loopback address needs --tls-cert/--tls-key (or --insecure)
  --database URL           the PostgreSQL served; Connect requests log in with their own
                           Username/Password/DB only: neither the URL's credentials nor
                           PGPASSWORD/PGUSER/… nor ~/.pgpass fill in what a request leaves empty
  --allow-host HOST:PORT   database host a Connect may name (repeatable; default: the --database host)
  --tls-cert FILE          PEM certificate for TLS on the listener (with --tls-key)
  --tls-key FILE           PEM private key
  --tls-client-ca FILE     PEM CA: clients must present a certificate signed by it (mutual TLS;
                           needs --tls-cert/--tls-key)
  --insecure               allow a plaintext listener on a non-loopback address (logged as a
                           warning: passwords and rows cross the network in clear text)
  --max-sessions N         concurrent sessions (default 100)
  --login-backoff-max-ms N after failed Connects from one address, its next Connects wait their
                           turn, 250 ms doubling up to N (default 2000); 0 = off (every client
                           behind one address, e.g. a proxy, is then never slowed down)
  --error-rows MODE        what Close returns in ErrorRows: positions (default: "row N: reason"
                           per rejected row, N its 1-based position in the load) or none (counts
                           only, like a GPSS that does not fill ErrorRows)
  --help

Resource limits (README: "gpss-pg (standalone)", "Resource limits"):
${limitFlagsUsage()}`;

const FLAGS: FlagSpec = {
  values: ['--listen', '--database', '--allow-host', '--tls-cert', '--tls-key', '--tls-client-ca', '--max-sessions', '--login-backoff-max-ms', '--error-rows', ...LIMIT_FLAGS.map((f) => f.flag)],
  switches: ['--help', '--insecure'],
  short: { h: '--help' },
};

export function parseArgs(argv: string[]): GpssServerOptions & { help?: boolean } {
  const opts: GpssServerOptions & { help?: boolean } = { databaseUrl: '', allowHosts: [] };
  let cert: string | undefined;
  let key: string | undefined;
  let clientCa: string | undefined;
  for (const { name, value } of readFlags(argv, FLAGS)) {
    switch (name) {
      case '--help':
        opts.help = true;
        break;
      case '--listen':
        opts.listen = value();
        break;
      case '--database':
        opts.databaseUrl = value();
        break;
      case '--allow-host':
        opts.allowHosts!.push(value());
        break;
      case '--tls-cert':
        cert = value();
        break;
      case '--tls-key':
        key = value();
        break;
      case '--tls-client-ca':
        clientCa = value();
        break;
      case '--insecure':
        opts.insecure = true;
        break;
      case '--max-sessions':
        opts.maxSessions = positive(name, value());
        break;
      case '--login-backoff-max-ms': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new Error(`--login-backoff-max-ms must be a whole number of milliseconds, 0 = off (got ${JSON.stringify(v)})`);
        opts.connectBackoff = n === 0 ? { off: true } : { maxMs: n, baseMs: Math.min(250, n) };
        break;
      }
      case '--error-rows': {
        const v = value();
        if (v !== 'positions' && v !== 'none') throw new Error(`--error-rows must be positions or none (got ${JSON.stringify(v)})`);
        opts.errorRows = v;
        break;
      }
      default:
        if (!applyLimitFlag(opts, name, value)) throw new Error(`unknown option ${name}`);
    }
  }
  if (opts.help) return opts;
  if (!opts.databaseUrl) opts.databaseUrl = process.env.DATABASE_URL ?? '';
  if (!opts.databaseUrl) throw new Error('--database URL is required');
  if (!!cert !== !!key) throw new Error('--tls-cert and --tls-key go together');
  if (clientCa && !cert) throw new Error('--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS)');
  if (cert && key) opts.tls = { cert: fs.readFileSync(cert), key: fs.readFileSync(key), ...(clientCa ? { clientCa: fs.readFileSync(clientCa) } : {}) };
  return opts;
}

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * V8 sizes a fresh process's old generation for the heap it has, and gpss-pg's stays ~10 MiB
 * while every Write brings ~2 MB of ArrayBuffers (the HTTP/2 DATA chunks and the message
 * grpc-js assembles from them). V8 weighs those against a limit derived from the small heap and
 * runs a full mark-compact every few tens of MB of requests: measured ~15 per million rows, a
 * third of gpss-pg's CPU. A 64 MiB initial old generation removes nearly all of them (measured:
 * 70 → 1 mark-compacts over 4M rows, CPU per 1M rows −30 %). V8 reads it only at start-up
 * (v8.setFlagsFromString is too late), so the CLI runs itself again with it, unless it was
 * started with an --initial-old-space-size of its own (kept as given).
 */
export const HEAP_OPTION = '--initial-old-space-size=64';

/**
 * The node options to run the server with, or null when this process is to be the server:
 * it already has an --initial-old-space-size, or it runs under the inspector (a second process
 * would compete for the debug port and the debugger would see only the idle parent).
 */
export function respawnExecArgv(execArgv: readonly string[]): string[] | null {
  if (execArgv.some((a) => a.startsWith('--initial-old-space-size') || a.startsWith('--inspect'))) return null;
  return [...execArgv, HEAP_OPTION];
}

/**
 * Runs the server as a child with HEAP_OPTION: signals are passed on, its exit code is ours,
 * and it stops by itself when this process dies (the IPC channel closes).
 */
function runWithHeapOption(execArgv: string[]): void {
  const child = spawn(process.execPath, [...execArgv, __filename, ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    console.error(`gpss-pg: cannot start: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1)));
}

async function main(): Promise<void> {
  const again = respawnExecArgv(process.execArgv);
  if (again) {
    runWithHeapOption(again);
    return;
  }
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`gpss-pg: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  // Warnings (such as --insecure's) go to stderr too, where they are seen.
  const log = (line: string) => (line.startsWith('WARNING') ? console.error : console.log)(`${new Date().toISOString()} ${line}`);
  const server = await startGpssServer({ ...opts, log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${new Date().toISOString()} ${signal}: stopping`);
    server.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`gpss-pg: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Run by runWithHeapOption: a parent that is gone (even SIGKILLed) closes the channel.
  if (process.channel) {
    process.on('disconnect', () => stop('parent exited'));
    process.channel.unref();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`gpss-pg: ${(err as Error).message}`);
    process.exit(1);
  });
}
