/**
 * The local stack of `npm start`: a private PostgreSQL (or DATABASE_URL), gpss-pg, the OSS
 * emulator with a demo bucket, and Node-RED with this package and the example flows pointed
 * at all of it. Everything listens on 127.0.0.1. `stop()` takes it down in reverse order.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { deployFlows, getFlows, type FlowNode } from './admin-api';
import type { DevstackConfig } from './config';
import { DEMO_BUCKET, DEMO_DATABASE, createDemoTables } from './demo-data';
import { composeDevstackFlows, repointDevstackConfig, type ExampleFlow, type StackAddresses } from './flows';
import { startNodeRed, type RunningNodeRed } from './node-red';
import { freePort, isClusterRunning, openParentToPostgres, postmasterPid, startPostgres, stopCluster, type PostgresCluster } from './postgres';
import { choosePostgresDataDir } from './postgres-place';
import { startGpssServer, startOssEmulator, type RunningGpssServer, type RunningOssEmulator } from './services';
import { ensurePrivateDir, PRIVATE_UMASK, tightenTree, writePrivateFile } from './private-files';

export interface Progress {
  /** A step starts ("PostgreSQL"), then ends with done(detail) or fail(err). */
  step(name: string): { done(detail: string): void; fail(err: Error): void };
  info(line: string): void;
}

export interface DevstackSecrets {
  pgPassword: string;
  credentialSecret: string;
  ossAccessKeyId: string;
  ossAccessKeySecret: string;
}

export interface DevstackState {
  pid: number;
  editorUrl: string;
  nodeRed: { url: string; pid: number; userDir: string; logFile: string };
  postgres: { url: string; pid: number; dataDir: string | null };
  gpss: { address: string };
  oss: { endpoint: string; bucket: string; dataDir: string };
}

export interface RunningDevstack {
  editorUrl: string;
  state: DevstackState;
  addresses: StackAddresses;
  nodeRed: RunningNodeRed;
  stop(): Promise<void>;
}

const PG_USER = 'gpflow';

/** Secrets generated on first start and kept (0600) so a second start finds the same data. */
export function loadSecrets(dir: string): DevstackSecrets {
  const file = path.join(dir, 'secrets.json');
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DevstackSecrets>;
    if (saved.pgPassword && saved.credentialSecret && saved.ossAccessKeyId && saved.ossAccessKeySecret) {
      return saved as DevstackSecrets;
    }
  } catch {
    /* first start */
  }
  const secrets: DevstackSecrets = {
    pgPassword: crypto.randomBytes(12).toString('base64url'),
    credentialSecret: crypto.randomBytes(24).toString('base64url'),
    ossAccessKeyId: 'LTAI' + crypto.randomBytes(8).toString('hex'),
    ossAccessKeySecret: crypto.randomBytes(20).toString('base64url'),
  };
  ensurePrivateDir(dir);
  writePrivateFile(file, JSON.stringify(secrets, null, 2) + '\n');
  return secrets;
}

/** Fails with the env var to change when a fixed port is taken. */
export function assertPortFree(port: number, envName: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} on 127.0.0.1 is already in use: stop what uses it or set ${envName} to another port`
            : `cannot listen on 127.0.0.1:${port} (${envName}): ${err.message}`,
        ),
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** examples/**\/*.json as { name: 'gpss/stream-ingest', nodes }, sorted by name. */
export function readExamples(packageDir: string): ExampleFlow[] {
  const root = path.join(packageDir, 'examples');
  const out: ExampleFlow[] = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.json')) {
        const nodes = JSON.parse(fs.readFileSync(full, 'utf8')) as unknown;
        if (!Array.isArray(nodes)) throw new Error(`example ${full} is not a JSON array of nodes`);
        out.push({ name: path.relative(root, full).replace(/\.json$/, '').split(path.sep).join('/'), nodes: nodes as FlowNode[] });
      }
    }
  };
  walk(root);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}

async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

async function startDatabase(
  config: DevstackConfig,
  secrets: DevstackSecrets,
  progress: Progress,
): Promise<{ url: string; cluster: PostgresCluster | null; pg: StackAddresses['pg'] }> {
  if (config.databaseUrl) {
    const step = progress.step('PostgreSQL (DATABASE_URL)');
    try {
      const client = new Client({ connectionString: config.databaseUrl });
      await client.connect();
      await client.end();
      const u = new URL(config.databaseUrl);
      const pg = {
        host: u.hostname,
        port: Number(u.port || 5432),
        database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
      };
      step.done(`${pg.host}:${pg.port}/${pg.database} as ${pg.user}`);
      return { url: config.databaseUrl, cluster: null, pg };
    } catch (err) {
      step.fail(err as Error);
      throw err;
    }
  }
  const step = progress.step('PostgreSQL');
  try {
    const place = choosePostgresDataDir(config.dir);
    if (place.relocated) progress.info(place.relocated);
    // startDevstack made the stack dir 0700; pg_ctl runs as the postgres user when we are root.
    else openParentToPostgres(config.dir);
    const dataDir = place.dataDir;
    if (fs.existsSync(path.join(dataDir, 'PG_VERSION')) && isClusterRunning(dataDir)) {
      // Left running by a start that was killed: it is ours, restart it on the right port.
      progress.info(`PostgreSQL in ${dataDir} was still running (previous start killed?); restarting it`);
      stopCluster(dataDir);
    }
    await assertPortFree(config.pgPort, 'PG_PORT');
    fs.mkdirSync(dataDir, { recursive: true });
    const reused = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
    const cluster = await startPostgres({
      dataDir,
      port: config.pgPort || (await freePort()),
      user: PG_USER,
      password: secrets.pgPassword,
      log: (line) => progress.info(line),
    });
    try {
      await ensureDatabase(cluster.url, DEMO_DATABASE);
    } catch (err) {
      cluster.stop();
      throw err;
    }
    const pg = { host: cluster.host, port: cluster.port, database: DEMO_DATABASE, user: cluster.user, password: cluster.password };
    step.done(`127.0.0.1:${cluster.port}/${DEMO_DATABASE} as ${PG_USER} (${reused ? 'reused' : 'new'} data in ${dataDir})`);
    return { url: withDatabase(cluster.url, DEMO_DATABASE), cluster, pg };
  } catch (err) {
    step.fail(err as Error);
    throw err;
  }
}

/** Starts every service; on any failure stops what already started and rethrows. */
export async function startDevstack(config: DevstackConfig, progress: Progress): Promise<RunningDevstack> {
  // Every file the stack creates (logs, OSS emulator data, state) and those of the Node-RED
  // child (which inherits the umask; its settings.js sets it again) is private: 0600 / 0700.
  process.umask(PRIVATE_UMASK);
  ensurePrivateDir(config.dir);
  const secrets = loadSecrets(config.dir);
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  const stopAll = async (): Promise<void> => {
    const errors: string[] = [];
    for (const { name, stop } of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        errors.push(`${name}: ${(err as Error).message}`);
      }
    }
    fs.rmSync(path.join(config.dir, 'state.json'), { force: true });
    if (errors.length) throw new Error(`stopping the stack: ${errors.join('; ')}`);
  };

  try {
    await Promise.all([
      assertPortFree(config.nodeRedPort, 'NODE_RED_PORT'),
      assertPortFree(config.gpssPort, 'GPSS_PORT'),
      assertPortFree(config.ossPort, 'OSS_PORT'),
    ]);
    const db = await startDatabase(config, secrets, progress);
    if (db.cluster) {
      const cluster = db.cluster;
      stops.push({ name: 'PostgreSQL', stop: () => cluster.stop() });
    }

    let step = progress.step('demo tables');
    try {
      const created = await createDemoTables(db.url);
      step.done(created.join(', '));
    } catch (err) {
      step.fail(err as Error);
      throw err;
    }

    step = progress.step('gpss-pg');
    let gpss: RunningGpssServer;
    try {
      gpss = await startGpssServer({
        listen: `127.0.0.1:${config.gpssPort}`,
        databaseUrl: db.url,
        // Connect may name only the stack's database server (host:port).
        allowHosts: [`${db.pg.host}:${db.pg.port}`, ...(db.pg.host === '127.0.0.1' ? [`localhost:${db.pg.port}`] : [])],
        log: (line) => appendLog(config.dir, 'gpss-pg.log', line),
      });
      stops.push({ name: 'gpss-pg', stop: () => gpss.stop() });
      step.done(`${gpss.address} (gRPC, plaintext; log ${path.join(config.dir, 'gpss-pg.log')})`);
    } catch (err) {
      step.fail(err as Error);
      throw err;
    }

    step = progress.step('OSS emulator');
    let oss: RunningOssEmulator;
    const ossDir = path.join(config.dir, 'oss');
    try {
      oss = await startOssEmulator({
        listen: `127.0.0.1:${config.ossPort}`,
        dataDir: ossDir,
        accessKeyId: secrets.ossAccessKeyId,
        accessKeySecret: secrets.ossAccessKeySecret,
        buckets: [DEMO_BUCKET],
        log: (line) => appendLog(config.dir, 'oss-emulator.log', line),
      });
      stops.push({ name: 'OSS emulator', stop: () => oss.stop() });
      step.done(`${oss.endpoint} bucket ${DEMO_BUCKET}, data in ${ossDir}`);
    } catch (err) {
      step.fail(err as Error);
      throw err;
    }

    const addresses: StackAddresses = {
      pg: db.pg,
      gpss: { host: gpss.host, port: gpss.port },
      oss: { endpoint: oss.endpoint, bucket: DEMO_BUCKET, accessKeyId: secrets.ossAccessKeyId, accessKeySecret: secrets.ossAccessKeySecret },
    };

    step = progress.step('Node-RED');
    let nodeRed: RunningNodeRed;
    try {
      nodeRed = await startNodeRed({
        userDir: path.join(config.dir, 'node-red'),
        port: config.nodeRedPort || (await freePort()),
        credentialSecret: secrets.credentialSecret,
        linkPackages: [config.packageDir],
        startTimeoutMs: 120_000,
      });
      stops.push({ name: 'Node-RED', stop: () => nodeRed.stop() });
      step.done(`${nodeRed.url} (userDir ${nodeRed.userDir}, log ${nodeRed.logFile})`);
    } catch (err) {
      step.fail(err as Error);
      throw err;
    }

    step = progress.step('example flows');
    try {
      step.done(await deployExamples(nodeRed.url, config, addresses));
    } catch (err) {
      step.fail(err as Error);
      throw err;
    }

    const state: DevstackState = {
      pid: process.pid,
      editorUrl: nodeRed.url + '/',
      nodeRed: { url: nodeRed.url, pid: nodeRed.pid, userDir: nodeRed.userDir, logFile: nodeRed.logFile },
      postgres: {
        url: db.url.replace(/:[^:@/]*@/, ':***@'),
        pid: db.cluster ? postmasterPid(db.cluster.dataDir) : 0,
        dataDir: db.cluster ? db.cluster.dataDir : null,
      },
      gpss: { address: gpss.address },
      oss: { endpoint: oss.endpoint, bucket: DEMO_BUCKET, dataDir: ossDir },
    };
    writePrivateFile(path.join(config.dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
    // Files left by an older version (or created before the umask) become private as well;
    // PostgreSQL keeps its own data directory 0700/0600.
    tightenTree(config.dir, new Set(['pg']));
    return { editorUrl: state.editorUrl, state, addresses, nodeRed, stop: stopAll };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** First start (or reset): the examples; later starts: the user's flows, re-pointed. */
async function deployExamples(url: string, config: DevstackConfig, addresses: StackAddresses): Promise<string> {
  const { flows } = await getFlows(url);
  if (flows.length > 0 && !config.resetFlows) {
    const repointed = repointDevstackConfig(flows, addresses);
    if (repointed) await deployFlows(url, repointed);
    return `kept your ${flows.length} node(s)${repointed ? ', config nodes re-pointed at this stack' : ''} (GPFLOW_DEVSTACK_RESET_FLOWS=1 redeploys the examples)`;
  }
  const examples = readExamples(config.packageDir);
  const composed = composeDevstackFlows(examples, addresses);
  await deployFlows(url, composed);
  return `${examples.length} example(s) deployed: ${examples.map((e) => e.name).join(', ') || '(none)'}`;
}

function appendLog(dir: string, file: string, line: string): void {
  try {
    fs.appendFileSync(path.join(dir, file), `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
  } catch {
    /* logging must never break the stack */
  }
}
