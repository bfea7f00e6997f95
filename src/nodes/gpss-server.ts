// Config node `gpss-server`: a GPSS endpoint — remote (host, port, optional TLS) or embedded (an
// in-process gpss-pg on the referenced greenplum-db, started on first use). Holds the one gRPC
// channel, the session pool and the open load jobs (GpssService) for all gpss nodes naming it,
// and closes them only after those nodes have finished their own close.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request } from 'express';
import { checkGpssEndpoint, GpssService, ServiceState, type GpssEndpoint } from '../gpss';
import { DEFAULT_MAX_SESSION_TIMEOUT_S } from '../gpss-server';
import * as kit from './kit';
import type { GpssServerConfigNode, GreenplumDbConfigNode } from './kit';

interface GpssServerDef extends NodeDef, kit.GpssServerSettingsDef {
  mode: 'embedded' | 'remote';
  db: string;
}

type Creds = kit.GpssServerCreds;

export = function (RED: NodeAPI): void {
  function GpssServerNode(this: GpssServerConfigNode & { credentials: Creds }, def: GpssServerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    node.mode = def.mode === 'remote' ? 'remote' : 'embedded';
    const creds: Creds = node.credentials ?? {};
    const db = (def.db ? RED.nodes.getNode(def.db) : null) as GreenplumDbConfigNode | null;
    node.redact = (t: string): string => kit.redactSecrets(db ? db.redact(t) : t, [creds.tlsKey]);
    const users = kit.hostUsers(node);
    let address = '';
    const logState = kit.stateChangeLog(node, () => address || 'embedded gpss-pg');
    node.address = () => address;
    if (db) db.register(node);

    // Settings: an invalid one (kit/settings.ts) fails every use of this server, naming it.
    let setup: kit.GpssServerSettings | Error;
    try {
      setup = kit.readGpssServerSettings(def, creds);
      if (setup.remote) address = `${setup.remote.host}:${setup.remote.port}`;
    } catch (err) {
      setup = new Error(`gpss-server: ${kit.errorText(err)}`);
      node.error(setup.message);
    }
    const settings = (): kit.GpssServerSettings => {
      if (setup instanceof Error) throw setup;
      return setup;
    };

    const endpoint = async (): Promise<GpssEndpoint> => {
      if (!db) throw new Error('gpss-server: no greenplum-db config node selected (the database GPSS logs into)');
      const s = settings();
      return s.remote ?? embedded.endpoint();
    };
    const embedded = new kit.EmbeddedGpss(
      () => ({
        listen: `127.0.0.1:${settings().embeddedPort}`,
        databaseUrl: db!.connectionUrl(),
        allowHosts: [`${db!.host}:${db!.port}`],
        // gpss-pg's safe resource limits apply; only the session timeout configured on this
        // node (trusted: set by the flow's author) may exceed the default maximum.
        maxSessionTimeoutS: Math.max(DEFAULT_MAX_SESSION_TIMEOUT_S, settings().sessionTimeoutSec),
        log: (line: string) => node.trace(node.redact(line)),
      }),
      (srv) => {
        address = srv.address;
        node.log(`embedded gpss-pg listening on ${srv.address} for ${db!.host}:${db!.port}/${db!.database}`);
      },
    );

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
        logState(state, safe);
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
          await embedded.stop((text) => node.warn(node.redact(text)));
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
    const remote = kit.remoteEndpoint(body, creds);
    return {
      secrets: [dbCreds.password, creds.tlsKey ?? ''],
      run: async () => {
        const server = remote ? null : await kit.startBounded({ listen: '127.0.0.1:0', databaseUrl: kit.dbConnectionUrl(dbs, dbCreds), allowHosts: [`${dbs.host}:${dbs.port}`], log: () => undefined }, kit.PROBE_TIMEOUT_MS);
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
