// Config node `greenplum-db`: one database login (password only in credentials), a lazily
// created shared pg.Pool, and the users that share it. Consumed by gpss-server (the login GPSS
// uses) and by the OSS nodes (SQL and COPY).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Pool } from 'pg';
import type { GreenplumDbConfigNode, GreenplumDbCreds } from './shared/types';
import { ConfigUsers } from './shared/users';
import { redact } from './shared/redact';
import { dbClientConfig, dbConnectionUrl, int, readDbSettings } from './shared/db-settings';
import { checkDatabase } from './shared/db-check';
import { ConfigProbe, withTimeout } from './shared/probe';
import type { Request, Response } from 'express';
import { registerTestEndpoint, typedOrStored } from './shared/admin-test';

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
    const settings = readDbSettings(def as unknown as Record<string, unknown>);
    node.host = settings.host;
    node.port = settings.port;
    node.database = settings.database;
    node.user = settings.user;
    node.tls = settings.tls;
    node.poolSize = int(def.poolSize, 10, 1, 100);
    const closeTimeoutMs = int(def.closeTimeout, 10, 1, 14) * 1000;
    const creds: GreenplumDbCreds = node.credentials ?? {};
    const users = new ConfigUsers();
    let pool: Pool | null = null;

    node.redact = (text: string) => redact(text, [creds.password]);
    node.clientConfig = () => dbClientConfig(settings, creds);
    node.connectionUrl = (): string => dbConnectionUrl(settings, creds);

    // Deploy-time probe (SELECT version() on a connection of its own): the nodes using this
    // login show ready / unreachable before their first message.
    node.probe = new ConfigProbe(node.redact);
    void node.probe.run(() => checkDatabase(node.clientConfig(), CHECK_TIMEOUT_MS), CHECK_TIMEOUT_MS).then((r) => {
      if (r.state === 'ready') node.log(`${node.host}:${node.port}/${node.database}: connection check ok (${r.ms} ms)`);
      else if (r.state === 'unreachable') node.warn(`${node.host}:${node.port}/${node.database}: connection check failed: ${r.reason}`);
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

    node.register = (user: object): void => {
      users.add(user);
    };

    node.deregister = (user: object): Promise<void> => {
      users.remove(user);
      return Promise.resolve();
    };

    // Expose the users map as Node-RED expects (error/status delegation to users' flows).
    (node as unknown as { users: Record<string, object> }).users = users.users;

    node.on('close', (removed: boolean, done: () => void) => {
      node.probe?.close();
      void (async () => {
        try {
          await users.whenEmpty(closeTimeoutMs);
          const p = pool;
          pool = null;
          if (p) await Promise.race([p.end(), new Promise((r) => setTimeout(r, 2000).unref())]);
        } catch (err) {
          node.warn(node.redact(`greenplum-db close: ${err instanceof Error ? err.message : String(err)}`));
        } finally {
          done();
        }
      })();
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
  RED.httpAdmin.get('/gpflow/db/:id/tables', RED.auth.needsPermission('greenplum-db.read'), (req: Request, res: Response) => {
    const n = RED.nodes.getNode(String(req.params.id)) as GreenplumDbConfigNode | null;
    if (!n || n.type !== 'greenplum-db' || typeof n.getPool !== 'function') {
      res.status(404).json({ error: 'greenplum-db not deployed: deploy it first, then pick tables' });
      return;
    }
    const sql =
      "SELECT table_schema AS schema, table_name AS name, table_type AS type FROM information_schema.tables " +
      "WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'gp_toolkit') AND table_schema NOT LIKE 'pg\\_temp\\_%' " +
      'ORDER BY 1, 2 LIMIT 2000';
    withTimeout(n.getPool().query<{ schema: string; name: string; type: string }>(sql), CHECK_TIMEOUT_MS, 'table list').then(
      (r) => res.json(r.rows.map((t) => ({ schema: t.schema, name: t.name, type: t.type === 'VIEW' ? 'view' : 'table' }))),
      (err: unknown) => res.status(502).json({ error: n.redact(err instanceof Error ? err.message : String(err)) }),
    );
  });

  // The dialog's Test connection: the typed (unsaved) settings, the stored password when the
  // field was left unchanged.
  registerTestEndpoint(
    RED,
    '/greenplum-db/test',
    'greenplum-db',
    (body) => {
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
    },
    redact,
  );
};
