// Config node `gpss-server`: a GPSS endpoint — remote (host, port, optional TLS) or embedded (an
// in-process gpss-pg on the referenced greenplum-db, started on first use). Holds the one gRPC
// channel, the session pool and the open load jobs (GpssService) for all gpss nodes naming it,
// and closes them only after those nodes have finished their own close.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request } from 'express';
import { checkGpssEndpoint, gpssEndpoint, GpssService, ServiceState, type EndpointTls, type GpssEndpoint } from '../gpss';
import { DEFAULT_MAX_SESSION_TIMEOUT_S, startGpssServer, type GpssServerOptions, type RunningGpssServer } from '../gpss-server';
import * as kit from './kit';
import type { GpssServerConfigNode, GreenplumDbConfigNode } from './kit';

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

type Creds = { tlsCa?: string; tlsCert?: string; tlsKey?: string };

const tlsOf = (useTls: unknown, c: Creds): EndpointTls | null => (kit.boolSetting(useTls, false, 'TLS') ? { ca: c.tlsCa, cert: c.tlsCert, key: c.tlsKey } : null);
const remotePort = (v: unknown): number => kit.intSetting(v, 5000, 1, 65535, 'port');

/** Starts gpss-pg; one that starts after `timeoutMs` is stopped, not left listening. */
async function startBounded(options: GpssServerOptions, timeoutMs: number): Promise<RunningGpssServer> {
  const starting = startGpssServer(options);
  return kit.withTimeout(starting, timeoutMs, 'embedded gpss-pg start').catch((err: unknown) => {
    starting.then((late) => late.stop(), () => undefined).catch(() => undefined);
    throw err;
  });
}

export = function (RED: NodeAPI): void {
  function GpssServerNode(this: GpssServerConfigNode & { credentials: Creds }, def: GpssServerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    node.mode = def.mode === 'remote' ? 'remote' : 'embedded';
    const creds: Creds = node.credentials ?? {};
    const db = (def.db ? RED.nodes.getNode(def.db) : null) as GreenplumDbConfigNode | null;
    node.redact = (t: string): string => kit.redactSecrets(db ? db.redact(t) : t, [creds.tlsKey]);
    const users = kit.hostUsers(node);
    let embedded: Promise<RunningGpssServer> | null = null;
    let address = '';
    let loggedState: ServiceState | '' = '';
    node.address = () => address;
    if (db) db.register(node);

    // Settings: an invalid one (kit/settings.ts) fails every use of this server, naming it.
    let setup: { remote: GpssEndpoint | null; embeddedPort: number; rpcTimeoutMs: number; sessionTimeoutSec: number; closeTimeoutMs: number } | Error;
    try {
      const remoteHost = kit.textSetting(def.host) || '127.0.0.1';
      setup = {
        remote: node.mode === 'remote' ? gpssEndpoint(remoteHost, remotePort(def.port), tlsOf(def.tls, creds)) : null,
        embeddedPort: kit.intSetting(def.embeddedPort, 0, 0, 65535, 'embedded port'),
        rpcTimeoutMs: kit.intSetting(def.rpcTimeout, 60, 1, 3600, 'call timeout (s)') * 1000,
        sessionTimeoutSec: kit.intSetting(def.sessionTimeout, 300, 0, 86400, 'session timeout (s)'),
        closeTimeoutMs: kit.intSetting(def.closeTimeout, 12, 1, 14, 'close timeout (s)') * 1000,
      };
      if (setup.remote) address = `${setup.remote.host}:${setup.remote.port}`;
    } catch (err) {
      setup = new Error(`gpss-server: ${kit.errorText(err)}`);
      node.error(setup.message);
    }
    const settings = (): Exclude<typeof setup, Error> => {
      if (setup instanceof Error) throw setup;
      return setup;
    };

    const endpoint = async (): Promise<GpssEndpoint> => {
      if (!db) throw new Error('gpss-server: no greenplum-db config node selected (the database GPSS logs into)');
      const s = settings();
      if (s.remote) return s.remote;
      if (!embedded) {
        const starting = startGpssServer({
          listen: `127.0.0.1:${s.embeddedPort}`,
          databaseUrl: db.connectionUrl(),
          allowHosts: [`${db.host}:${db.port}`],
          // gpss-pg's safe resource limits apply; only the session timeout configured on this
          // node (trusted: set by the flow's author) may exceed the default maximum.
          maxSessionTimeoutS: Math.max(DEFAULT_MAX_SESSION_TIMEOUT_S, s.sessionTimeoutSec),
          log: (line: string) => node.trace(node.redact(line)),
        });
        embedded = starting;
        starting.then(
          (srv) => {
            address = srv.address;
            node.log(`embedded gpss-pg listening on ${srv.address} for ${db.host}:${db.port}/${db.database}`);
          },
          () => {
            if (embedded === starting) embedded = null; // try again on next use
          },
        );
      }
      const srv = await embedded;
      return { host: srv.host, port: srv.port };
    };

    const s0 = setup instanceof Error ? null : setup;
    node.service = new GpssService({
      endpoint,
      login: () => {
        if (!db) throw new Error('gpss-server: no greenplum-db config node selected');
        const c = db.clientConfig();
        const password = typeof c.password === 'string' ? c.password : '';
        return { host: db.host, port: db.port, user: db.user, password, database: db.database, sessionTimeoutSec: settings().sessionTimeoutSec };
      },
      deadlineMs: s0?.rpcTimeoutMs ?? 60000,
      sessionMaxIdleMs: s0 && s0.sessionTimeoutSec > 0 ? (s0.sessionTimeoutSec * 1000) / 2 : undefined,
      redact: (t) => node.redact(t),
      onState: (state: ServiceState, detail?: string) => {
        const safe = detail ? node.redact(detail) : undefined;
        // One log line per change of state, not per failed call (no log storms while down).
        if (state !== loggedState) {
          loggedState = state;
          const where = address || 'embedded gpss-pg';
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
    node.probe = new kit.ConfigProbe((t) => node.redact(t));
    const probing = node.probe.run(() => node.service.probe(), kit.PROBE_TIMEOUT_MS);

    kit.closeAfterUsers(node, users, {
      timeoutMs: s0?.closeTimeoutMs ?? 12000,
      redact: node.redact,
      shutdown: async () => {
        try {
          // A probe still connecting would leave its session behind the shutdown: let it end.
          await Promise.race([probing, new Promise((r) => setTimeout(r, 2000).unref())]);
          await node.service.shutdown();
          const srv = embedded ? await embedded.catch(() => null) : null;
          embedded = null;
          if (srv) await srv.stop().catch((err: unknown) => node.warn(node.redact(`embedded gpss-pg stop: ${kit.errorText(err)}`)));
        } finally {
          if (db) await db.deregister(node).catch(() => undefined);
        }
      },
    });
  }

  RED.nodes.registerType('gpss-server', GpssServerNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: { tlsCa: { type: 'text' }, tlsCert: { type: 'text' }, tlsKey: { type: 'password' } },
  });

  // The dialog's Test connection with the typed (unsaved) settings: remote — the endpoint with
  // its TLS; embedded — a throwaway gpss-pg on a free loopback port; then Connect + ListSchema
  // with the login of the greenplum-db the dialog names (its unsaved values when the editor
  // sends them, the stored password when that field was left unchanged).
  kit.registerTestEndpoint(RED, '/gpss-server/test', 'gpss-server', (body) => {
    const dbId = typeof body.db === 'string' ? body.db : '';
    const dbDef = body.dbConfig && typeof body.dbConfig === 'object' ? (body.dbConfig as Record<string, unknown>) : null;
    const deployed = dbId ? (RED.nodes.getNode(dbId) as GreenplumDbConfigNode | null) : null;
    if (!dbDef && !deployed) throw new Error('gpss-server: select a greenplum-db config node (the database GPSS logs into)');
    const dbs = kit.readDbSettings(dbDef ?? { host: deployed!.host, port: deployed!.port, database: deployed!.database, user: deployed!.user, tls: deployed!.tls });
    const dbCreds = { password: kit.typedOrStored(RED, dbId, dbDef?.password, 'password'), tlsCa: kit.typedOrStored(RED, dbId, dbDef?.tlsCa, 'tlsCa') };
    const stored = (key: keyof Creds): string => kit.typedOrStored(RED, body.id, body[key], key);
    const creds: Creds = { tlsCa: stored('tlsCa'), tlsCert: stored('tlsCert'), tlsKey: stored('tlsKey') };
    const remote = body.mode === 'remote' ? gpssEndpoint(kit.textSetting(body.host) || '127.0.0.1', remotePort(body.port), tlsOf(body.tls, creds)) : null;
    return {
      secrets: [dbCreds.password, creds.tlsKey ?? ''],
      run: async () => {
        const server = remote ? null : await startBounded({ listen: '127.0.0.1:0', databaseUrl: kit.dbConnectionUrl(dbs, dbCreds), allowHosts: [`${dbs.host}:${dbs.port}`], log: () => undefined }, kit.PROBE_TIMEOUT_MS);
        try {
          const login = kit.dbClientConfig(dbs, dbCreds);
          const password = typeof login.password === 'string' ? login.password : '';
          const at = remote ?? { host: server!.host, port: server!.port };
          const { schemas } = await checkGpssEndpoint(at, { host: dbs.host, port: dbs.port, user: dbs.user, password, database: dbs.database }, kit.PROBE_TIMEOUT_MS);
          const where = remote ? `${remote.host}:${remote.port}` : 'embedded gpss-pg';
          return { target: `${where} → ${dbs.host}:${dbs.port}/${dbs.database}`, schemas };
        } finally {
          if (server) await server.stop().catch(() => undefined);
        }
      },
    };
  });

  // Admin endpoints for the editor's table and column pickers (deployed config nodes only).
  const picker = (what: string, answer: (service: GpssService, req: Request) => Promise<unknown> | string): void =>
    kit.registerConfigLookup<GpssServerConfigNode>(RED, `/gpflow/gpss/:id/${what}`, 'gpss-server', 'gpss-server not deployed: deploy it first, then pick tables', (n) => !!n.service, (n, req) => answer(n.service, req));
  const schemaOf = (req: Request): string => String(req.query.schema || 'public');
  picker('schemas', (service) => service.listSchemas());
  picker('tables', (service, req) => service.listTables(schemaOf(req)));
  picker('columns', (service, req) => (req.query.table ? service.describeTable(schemaOf(req), String(req.query.table)) : 'query parameter "table" is required'));
};
