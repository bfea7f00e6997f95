// Config node `greenplum-db`: one database login (password only in credentials), a lazily
// created shared pg.Pool, and the users that share it. Consumed by gpss-server (the login GPSS
// uses) and by the OSS nodes (SQL and COPY).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Pool } from 'pg';
import {
  asError,
  checkDatabase,
  closeAfterUsers,
  ConfigProbe,
  dbClientConfig,
  dbConnectionUrl,
  hostUsers,
  intSetting,
  readDbSettings,
  redactSecrets,
  registerConfigLookup,
  registerTestEndpoint,
  typedOrStored,
  withTimeout,
  type GreenplumDbConfigNode,
  type GreenplumDbCreds,
} from './kit';

interface GreenplumDbDef extends NodeDef {
  host: string;
  port: string | number;
  database: string;
  user: string;
  tls: boolean | string;
  tlsRejectUnauthorized?: boolean | string;
  poolSize: string | number;
  closeTimeout?: string | number;
}

/** Bound of the deploy-time probe and of the dialog's Test connection. */
const CHECK_TIMEOUT_MS = 10000;

export = function (RED: NodeAPI): void {
  function GreenplumDbNode(this: GreenplumDbConfigNode, def: GreenplumDbDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const creds: GreenplumDbCreds = node.credentials ?? {};
    node.redact = (text: string) => redactSecrets(text, [creds.password]);
    const users = hostUsers(node);
    let pool: Pool | null = null;
    let closeTimeoutMs = 10000;
    try {
      const settings = readDbSettings(def as unknown as Record<string, unknown>);
      Object.assign(node, { host: settings.host, port: settings.port, database: settings.database, user: settings.user, tls: settings.tls });
      node.poolSize = intSetting(def.poolSize, 10, 1, 100, 'pool size');
      closeTimeoutMs = intSetting(def.closeTimeout, 10, 1, 14, 'close timeout (s)') * 1000;
      node.clientConfig = () => dbClientConfig(settings, creds);
      node.connectionUrl = (): string => dbConnectionUrl(settings, creds);
    } catch (err) {
      // Invalid settings (kit/settings.ts): every use of this login fails naming the option,
      // and the users show it as the probe's reason.
      const e = asError(err);
      node.error(`greenplum-db: ${e.message}`);
      node.clientConfig = node.connectionUrl = () => {
        throw new Error(`greenplum-db: ${e.message}`);
      };
    }

    // Deploy-time probe (SELECT version() on a connection of its own): the nodes using this
    // login show ready / unreachable before their first message.
    const where = `${node.host ?? def.host}:${node.port ?? def.port}/${node.database ?? def.database}`;
    node.probe = new ConfigProbe(node.redact);
    void node.probe.run(() => checkDatabase(node.clientConfig(), CHECK_TIMEOUT_MS), CHECK_TIMEOUT_MS).then((r) => {
      if (r.state === 'ready') node.log(`${where}: connection check ok (${r.ms} ms)`);
      else if (r.state === 'unreachable') node.warn(`${where}: connection check failed: ${r.reason}`);
    });

    node.getPool = (): Pool => {
      if (!pool) {
        pool = new Pool({ ...node.clientConfig(), max: node.poolSize, idleTimeoutMillis: 30000 });
        // An idle client losing its connection emits 'error' on the pool; unhandled it would
        // crash Node-RED (node-red.md §4.2).
        pool.on('error', (err) => node.warn(node.redact(`greenplum-db ${node.host}:${node.port}: idle connection error: ${err.message}`)));
      }
      return pool;
    };

    closeAfterUsers(node, users, {
      timeoutMs: closeTimeoutMs,
      redact: node.redact,
      shutdown: async () => {
        const p = pool;
        pool = null;
        if (p) await Promise.race([p.end(), new Promise((r) => setTimeout(r, 2000).unref())]);
      },
    });
  }

  RED.nodes.registerType('greenplum-db', GreenplumDbNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: {
      password: { type: 'password' },
      tlsCa: { type: 'text' },
    },
  });

  // The OSS dialogs' table picker: the tables and views of the deployed greenplum-db (as
  // gpss-server's picker lists them through GPSS), schema-qualified, system schemas left out.
  const sql =
    "SELECT table_schema AS schema, table_name AS name, table_type AS type FROM information_schema.tables " +
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'gp_toolkit') AND table_schema NOT LIKE 'pg\\_temp\\_%' " +
    'ORDER BY 1, 2 LIMIT 2000';
  registerConfigLookup<GreenplumDbConfigNode>(RED, '/gpflow/db/:id/tables', 'greenplum-db', 'greenplum-db not deployed: deploy it first, then pick tables', (n) => typeof n.getPool === 'function', (n) =>
    withTimeout(n.getPool().query<{ schema: string; name: string; type: string }>(sql), CHECK_TIMEOUT_MS, 'table list').then((r) =>
      r.rows.map((t) => ({ schema: t.schema, name: t.name, type: t.type === 'VIEW' ? 'view' : 'table' })),
    ),
  );

  // The dialog's Test connection: the typed (unsaved) settings, the stored password when the
  // field was left unchanged.
  registerTestEndpoint(RED, '/greenplum-db/test', 'greenplum-db', (body) => {
    const s = readDbSettings(body);
    const c: GreenplumDbCreds = {
      password: typedOrStored(RED, body.id, body.password, 'password'),
      tlsCa: typedOrStored(RED, body.id, body.tlsCa, 'tlsCa'),
    };
    return {
      secrets: [c.password ?? ''],
      run: async () => {
        const r = await checkDatabase(dbClientConfig(s, c), CHECK_TIMEOUT_MS);
        return { target: `${s.user ? s.user + '@' : ''}${s.host}:${s.port}/${s.database}`, version: r.version };
      },
    };
  });
};
