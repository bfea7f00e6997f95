// Config node `greenplum-db`: one database login (password only in credentials), a lazily
// created shared pg.Pool, and the users that share it. Consumed by gpss-server (the login GPSS
// uses) and by the OSS nodes (SQL and COPY).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Pool } from 'pg';
import type { GreenplumDbConfigNode, GreenplumDbCreds } from './shared/types';
import { ConfigUsers } from './shared/users';
import { redact } from './shared/redact';

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



function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  return v === true || v === 'true';
}

function int(v: unknown, dflt: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : parseInt(String(v ?? ''), 10);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, Math.trunc(n)));
}

export = function (RED: NodeAPI): void {
  function GreenplumDbNode(this: GreenplumDbConfigNode, def: GreenplumDbDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    node.host = (def.host || '127.0.0.1').trim();
    node.port = int(def.port, 5432, 1, 65535);
    node.database = (def.database || 'postgres').trim();
    node.user = (def.user || '').trim();
    node.tls = bool(def.tls, false);
    node.poolSize = int(def.poolSize, 10, 1, 100);
    const rejectUnauthorized = bool(def.tlsRejectUnauthorized, true);
    const closeTimeoutMs = int(def.closeTimeout, 10, 1, 14) * 1000;
    const creds: GreenplumDbCreds = node.credentials ?? {};
    const users = new ConfigUsers();
    let pool: Pool | null = null;

    node.redact = (text: string) => redact(text, [creds.password]);

    node.clientConfig = () => ({
      host: node.host,
      port: node.port,
      database: node.database,
      user: node.user || undefined,
      password: creds.password || undefined,
      ssl: node.tls ? { rejectUnauthorized, ca: creds.tlsCa || undefined } : false,
      application_name: 'node-red-greenplum',
    });

    node.connectionUrl = (): string => {
      const u = new URL('postgres://localhost');
      u.hostname = node.host.includes(':') ? `[${node.host}]` : node.host;
      u.port = String(node.port);
      u.pathname = '/' + encodeURIComponent(node.database);
      if (node.user) u.username = encodeURIComponent(node.user);
      if (creds.password) u.password = encodeURIComponent(creds.password);
      if (node.tls) u.searchParams.set('sslmode', rejectUnauthorized ? 'verify-full' : 'require');
      return u.toString();
    };

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
};
