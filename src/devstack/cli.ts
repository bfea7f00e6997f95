#!/usr/bin/env node
/**
 * `npm start`: the whole local stack in one command (DESIGN §8). Prints progress while
 * starting, then the editor URL and every service's address; Ctrl-C (or SIGTERM) stops
 * everything in order, leaving no process behind. Data stays under .devstack/ for next time.
 */
import path from 'node:path';
import { configFromEnv, redactUrl, type DevstackConfig } from './config';
import { findPostgresBinDir } from './postgres';
import { startDevstack, type Progress, type RunningDevstack } from './stack';

const out = (line = ''): void => {
  process.stdout.write(line + '\n');
};

function consoleProgress(): Progress {
  return {
    step(name) {
      const t0 = Date.now();
      out(`  … ${name}`);
      const secs = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
      return {
        done: (detail) => out(`  ✓ ${name.padEnd(16)} ${detail} [${secs()}]`),
        fail: (err) => out(`  ✗ ${name.padEnd(16)} ${err.message} [${secs()}]`),
      };
    },
    info: (line) => out(`    ${line}`),
  };
}

/** Relative to the working directory when inside it, else absolute. */
function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return !rel ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

function printReady(stack: RunningDevstack, config: DevstackConfig): void {
  const s = stack.state;
  const rel = displayPath;
  out('');
  out('Ready. The local stack (everything on 127.0.0.1):');
  out(`  Node-RED editor  ${s.editorUrl}`);
  out(`  PostgreSQL       ${redactUrl(s.postgres.url)}${config.databaseUrl ? '' : `  (password in ${rel(path.join(config.dir, 'secrets.json'))})`}`);
  out(`  gpss-pg          ${s.gpss.address}`);
  out(`  OSS emulator     ${s.oss.endpoint}  bucket ${s.oss.bucket}  (keys in ${rel(path.join(config.dir, 'secrets.json'))})`);
  out(`  Data and logs    ${rel(config.dir)}/`);
  out('');
  out('The example flows are deployed, their config nodes point at this stack. Press Ctrl-C to stop.');
}

async function main(): Promise<number> {
  const packageDir = path.resolve(__dirname, '..', '..');
  let config: DevstackConfig;
  try {
    config = configFromEnv(process.env, packageDir);
  } catch (err) {
    out(`npm start: ${(err as Error).message}`);
    return 2;
  }
  if (!config.databaseUrl) {
    try {
      findPostgresBinDir();
    } catch (err) {
      out(`npm start: ${(err as Error).message}`);
      return 1;
    }
  }

  out('@gpflow/node-red-greenplum: starting the local stack');
  let stack: RunningDevstack | null = null;
  let stopping: Promise<number> | null = null;
  let signals = 0;

  const shutdown = (reason: string, code: number): Promise<number> => {
    if (!stopping) {
      out(`\n${reason}: stopping Node-RED, gpss-pg, the OSS emulator and PostgreSQL…`);
      stopping = (async () => {
        try {
          if (stack) await stack.stop();
          out(`Stopped. Data kept in ${displayPath(config.dir)}/`);
          return code;
        } catch (err) {
          out(`npm start: ${(err as Error).message}`);
          return 1;
        }
      })();
    }
    return stopping;
  };

  let resolveSignal: (code: number) => void = () => undefined;
  const signalled = new Promise<number>((resolve) => (resolveSignal = resolve));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      signals++;
      if (signals === 1) resolveSignal(0);
      else if (signals === 2) out('Still stopping (a flow may be committing); press Ctrl-C again to force.');
      else process.exit(130);
    });
  }

  const started = startDevstack(config, consoleProgress());
  const first = await Promise.race([started.then(() => 'started' as const, (err: Error) => err), signalled.then(() => 'signal' as const)]);
  if (first === 'signal') {
    // Interrupted while starting: let the start finish or fail, then stop what is up.
    stack = await started.catch(() => null);
    return shutdown('Interrupted', 0);
  }
  if (first instanceof Error) {
    out(`\nnpm start failed: ${first.message}`);
    return 1;
  }
  stack = await started;
  printReady(stack, config);

  const nodeRedExit = stack.nodeRed.exited.then((e) => e);
  const winner = await Promise.race([signalled.then(() => null), nodeRedExit]);
  if (winner) {
    out(`\nNode-RED exited unexpectedly (code ${winner.code}, signal ${winner.signal}); see ${stack.nodeRed.logFile}`);
    return shutdown('Node-RED stopped', 1);
  }
  return shutdown('Ctrl-C', 0);
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    out(`npm start: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
