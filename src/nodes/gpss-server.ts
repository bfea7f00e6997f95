// Config node `gpss-server`: a GPSS endpoint — remote (host, port, optional TLS) or embedded (an
// in-process gpss-pg on the referenced greenplum-db, started on first use). Holds the one gRPC
// channel, the session pool and the open load jobs (GpssService) for all gpss nodes naming it,
// and closes them only after those nodes have finished their own close.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { GpssClient, GpssService, ServiceState, type GpssEndpoint } from '../gpss';
import { DEFAULT_MAX_SESSION_TIMEOUT_S, startGpssServer, type RunningGpssServer } from '../gpss-server';
import { ConfigUsers } from './shared/users';
import { redact } from './shared/redact';
import type { GpssServerConfigNode, GreenplumDbConfigNode } from './shared/types';
import { ConfigProbe, PROBE_TIMEOUT_MS, withTimeout } from './shared/probe';
import { registerTestEndpoint, typedOrStored } from './shared/admin-test';
import { dbClientConfig, dbConnectionUrl, readDbSettings } from './shared/db-settings';

interface GpssServerDef extends NodeDef {
  mode: 'embedded' | 'remote';
  host: string;
  port: string | number;
  tls: boolean | string;
  db: string;
  embeddedPort?: string | number;
  rpcTimeout?: string | number;
  sessionTimeout?: string | number;
  closeTimeout?: string | number;
}

interface GpssServerCreds {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function int(v: unknown, dflt: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : parseInt(String(v ?? ''), 10);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, Math.trunc(n)));
}

/** The remote endpoint with its TLS material; a client certificate needs its key (mutual TLS). */
function remoteEndpoint(host: string, port: number, useTls: boolean, creds: GpssServerCreds): GpssEndpoint {
  // A client certificate without its key (or the reverse) cannot do mutual TLS: say so here
  // rather than let the TLS library fail with a less helpful message.
  if (useTls && !!creds.tlsCert !== !!creds.tlsKey) throw new Error('gpss-server: TLS client certificate and client key go together (mutual TLS): give both or neither');
  const tls = useTls
    ? {
        ca: creds.tlsCa ? Buffer.from(creds.tlsCa) : undefined,
        cert: creds.tlsCert ? Buffer.from(creds.tlsCert) : undefined,
        key: creds.tlsKey ? Buffer.from(creds.tlsKey) : undefined,
      }
    : undefined;
  return { host, port, tls };
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export = function (RED: NodeAPI): void {
  function GpssServerNode(this: GpssServerConfigNode & { credentials: GpssServerCreds }, def: GpssServerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    node.mode = def.mode === 'remote' ? 'remote' : 'embedded';
    const creds: GpssServerCreds = node.credentials ?? {};
    const remoteHost = (def.host || '127.0.0.1').trim();
    const remotePort = int(def.port, 5000, 1, 65535);
    const useTls = def.tls === true || def.tls === 'true';
    const embeddedPort = int(def.embeddedPort, 0, 0, 65535);
    const rpcTimeoutMs = int(def.rpcTimeout, 60, 1, 3600) * 1000;
    const sessionTimeoutSec = int(def.sessionTimeout, 300, 0, 86400);
    const closeTimeoutMs = int(def.closeTimeout, 12, 1, 14) * 1000;
    const db = (def.db ? RED.nodes.getNode(def.db) : null) as GreenplumDbConfigNode | null;
    const users = new ConfigUsers();
    (node as unknown as { users: Record<string, object> }).users = users.users;
    let embedded: Promise<RunningGpssServer> | null = null;
    let address = node.mode === 'remote' ? `${remoteHost}:${remotePort}` : '';
    let loggedState: ServiceState | '' = '';

    node.redact = (t: string): string => redact(db ? db.redact(t) : t, [creds.tlsKey]);
    node.address = () => address;
    if (db) db.register(node);

    const endpoint = async (): Promise<GpssEndpoint> => {
      if (!db) throw new Error('gpss-server: no greenplum-db config node selected (the database GPSS logs into)');
      if (node.mode === 'remote') return remoteEndpoint(remoteHost, remotePort, useTls, creds);
      if (!embedded) {
        const starting = startGpssServer({
          listen: `127.0.0.1:${embeddedPort}`,
          databaseUrl: db.connectionUrl(),
          allowHosts: [`${db.host}:${db.port}`],
          // gpss-pg's safe resource limits apply; only the session timeout configured on this
          // node (trusted: set by the flow's author) may exceed the default maximum.
          maxSessionTimeoutS: Math.max(DEFAULT_MAX_SESSION_TIMEOUT_S, sessionTimeoutSec),
          log: (line: string) => node.trace(node.redact(line)),
        });
        embedded = starting;
        starting.then(
          (s) => {
            address = s.address;
            node.log(`embedded gpss-pg listening on ${s.address} for ${db.host}:${db.port}/${db.database}`);
          },
          () => {
            if (embedded === starting) embedded = null; // try again on next use
          },
        );
      }
      const s = await embedded;
      return { host: s.host, port: s.port };
    };

    node.service = new GpssService({
      endpoint,
      login: () => {
        if (!db) throw new Error('gpss-server: no greenplum-db config node selected');
        const c = db.clientConfig();
        return {
          host: db.host,
          port: db.port,
          user: db.user,
          password: typeof c.password === 'string' ? c.password : '',
          database: db.database,
          sessionTimeoutSec,
        };
      },
      deadlineMs: rpcTimeoutMs,
      sessionMaxIdleMs: sessionTimeoutSec > 0 ? (sessionTimeoutSec * 1000) / 2 : undefined,
      redact: (t) => node.redact(t),
      onState: (state: ServiceState, detail?: string) => {
        const safe = detail ? node.redact(detail) : undefined;
        // One log line per change of state, not per failed call (no log storms while down).
        if (state !== loggedState) {
          loggedState = state;
          const where = address || (node.mode === 'embedded' ? 'embedded gpss-pg' : `${remoteHost}:${remotePort}`);
          if (state === 'error') node.warn(`GPSS ${where}: ${safe ?? 'error'}`);
          else if (state !== 'connecting') node.log(`GPSS ${where}: ${state}`);
        }
        node.emit('state', state, safe);
      },
    });
    // Users subscribe to 'state'; many of them is normal.
    node.setMaxListeners(0);

    // Deploy-time probe: the endpoint up (the embedded server started) and a Connect +
    // ListSchema through it on a session of its own. A failure leaves nothing behind (the next
    // call dials afresh, as without the probe).
    node.probe = new ConfigProbe((t) => node.redact(t));
    const probing = node.probe.run(() => node.service.probe(), PROBE_TIMEOUT_MS);

    node.register = (user: object): void => users.add(user);
    node.deregister = (user: object): Promise<void> => {
      users.remove(user);
      return Promise.resolve();
    };

    node.on('close', (removed: boolean, done: () => void) => {
      node.probe?.close();
      void (async () => {
        try {
          // Flow nodes flush concurrently with this close: let them finish first.
          const allGone = await users.whenEmpty(closeTimeoutMs);
          if (!allGone) node.warn(`gpss-server: ${users.count} node(s) still busy after ${closeTimeoutMs} ms; closing the channel anyway`);
          // A probe still connecting would leave its session behind the shutdown: let it end.
          await Promise.race([probing, new Promise((r) => setTimeout(r, 2000).unref())]);
          await node.service.shutdown();
          if (embedded) {
            const s = await embedded.catch(() => null);
            embedded = null;
            if (s) await s.stop().catch((err: unknown) => node.warn(node.redact(`embedded gpss-pg stop: ${text(err)}`)));
          }
        } catch (err) {
          node.warn(node.redact(`gpss-server close: ${text(err)}`));
        } finally {
          if (db) await db.deregister(node).catch(() => undefined);
          done();
        }
      })();
    });
  }

  RED.nodes.registerType('gpss-server', GpssServerNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: {
      tlsCa: { type: 'text' },
      tlsCert: { type: 'text' },
      tlsKey: { type: 'password' },
    },
  });

  // The dialog's Test connection with the typed (unsaved) settings: remote — the endpoint with
  // its TLS; embedded — a throwaway gpss-pg on a free loopback port; then Connect + ListSchema
  // with the login of the greenplum-db the dialog names (its unsaved values when the editor
  // sends them, the stored password when that field was left unchanged).
  registerTestEndpoint(
    RED,
    '/gpss-server/test',
    'gpss-server',
    (body) => {
      const dbId = typeof body.db === 'string' ? body.db : '';
      const dbDef = body.dbConfig && typeof body.dbConfig === 'object' ? (body.dbConfig as Record<string, unknown>) : null;
      const deployedDb = dbId ? (RED.nodes.getNode(dbId) as GreenplumDbConfigNode | null) : null;
      if (!dbDef && !deployedDb) throw new Error('gpss-server: select a greenplum-db config node (the database GPSS logs into)');
      const dbSettings = readDbSettings(dbDef ?? { host: deployedDb!.host, port: deployedDb!.port, database: deployedDb!.database, user: deployedDb!.user, tls: deployedDb!.tls });
      const dbCreds = {
        password: typedOrStored(RED, dbId, dbDef?.password, 'password'),
        tlsCa: typedOrStored(RED, dbId, dbDef?.tlsCa, 'tlsCa'),
      };
      const mode = body.mode === 'remote' ? 'remote' : 'embedded';
      const creds: GpssServerCreds = {
        tlsCa: typedOrStored(RED, body.id, body.tlsCa, 'tlsCa'),
        tlsCert: typedOrStored(RED, body.id, body.tlsCert, 'tlsCert'),
        tlsKey: typedOrStored(RED, body.id, body.tlsKey, 'tlsKey'),
      };
      const host = (typeof body.host === 'string' && body.host.trim()) || '127.0.0.1';
      const port = int(body.port, 5000, 1, 65535);
      const useTls = body.tls === true || body.tls === 'true';
      return {
        secrets: [dbCreds.password, creds.tlsKey ?? ''],
        run: async () => {
          let server: RunningGpssServer | null = null;
          let client: GpssClient | null = null;
          try {
            let endpoint: GpssEndpoint;
            if (mode === 'remote') endpoint = remoteEndpoint(host, port, useTls, creds);
            else {
              const starting = startGpssServer({
                listen: '127.0.0.1:0',
                databaseUrl: dbConnectionUrl(dbSettings, dbCreds),
                allowHosts: [`${dbSettings.host}:${dbSettings.port}`],
                log: () => undefined,
              });
              server = await withTimeout(starting, PROBE_TIMEOUT_MS, 'embedded gpss-pg start').catch((err: unknown) => {
                // Started after we gave up: stop it then, not leave it listening.
                starting.then((late) => late.stop(), () => undefined).catch(() => undefined);
                throw err;
              });
              endpoint = { host: server.host, port: server.port };
            }
            client = new GpssClient(endpoint, { deadlineMs: PROBE_TIMEOUT_MS });
            const login = dbClientConfig(dbSettings, dbCreds);
            const session = await client.connect({
              host: dbSettings.host,
              port: dbSettings.port,
              user: dbSettings.user,
              password: typeof login.password === 'string' ? login.password : '',
              database: dbSettings.database,
            });
            try {
              const schemas = await client.listSchemas(session);
              const where = mode === 'remote' ? `${host}:${port}` : 'embedded gpss-pg';
              return { target: `${where} → ${dbSettings.host}:${dbSettings.port}/${dbSettings.database}`, schemas: schemas.map((x) => x.name) };
            } finally {
              await client.disconnect(session).catch(() => undefined);
            }
          } finally {
            client?.shutdown();
            if (server) await server.stop().catch(() => undefined);
          }
        },
      };
    },
    redact,
  );

  // Admin endpoints for the editor's table and column pickers (deployed config nodes only).
  const lookup = (req: Request, res: Response): GpssServerConfigNode | null => {
    const n = RED.nodes.getNode(String(req.params.id)) as GpssServerConfigNode | null;
    if (!n || n.type !== 'gpss-server' || !n.service) {
      res.status(404).json({ error: 'gpss-server not deployed: deploy it first, then pick tables' });
      return null;
    }
    return n;
  };
  const reply = (res: Response, n: GpssServerConfigNode, p: Promise<unknown>): void => {
    p.then(
      (v) => res.json(v),
      (err: unknown) => res.status(502).json({ error: n.redact(text(err)) }),
    );
  };
  const read = RED.auth.needsPermission('gpss-server.read');
  RED.httpAdmin.get('/gpflow/gpss/:id/schemas', read, (req: Request, res: Response) => {
    const n = lookup(req, res);
    if (n) reply(res, n, n.service.listSchemas());
  });
  RED.httpAdmin.get('/gpflow/gpss/:id/tables', read, (req: Request, res: Response) => {
    const n = lookup(req, res);
    if (n) reply(res, n, n.service.listTables(String(req.query.schema || 'public')));
  });
  RED.httpAdmin.get('/gpflow/gpss/:id/columns', read, (req: Request, res: Response) => {
    const n = lookup(req, res);
    const table = String(req.query.table || '');
    if (!n) return;
    if (!table) {
      res.status(400).json({ error: 'query parameter "table" is required' });
      return;
    }
    reply(res, n, n.service.describeTable(String(req.query.schema || 'public'), table));
  });
};
