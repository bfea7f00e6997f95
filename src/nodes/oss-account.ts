// Config node `oss-account`: one OSS account + bucket, shared by every oss-export/oss-import
// that names it. Holds one ali-oss client with its own keep-alive agents (ali-oss's
// `maxSockets` option would mutate agents shared by every client in the process), tracks its
// users (so Node-RED delegates its errors/status to their flows), and on close waits for
// users to release it before destroying the sockets.
import * as http from 'node:http';
import * as https from 'node:https';
import OSS = require('ali-oss');
import type { NodeAPI, NodeDef } from 'node-red';
import { clientOptions, describeAccount, locationEndpoint, readAccountSettings, validateAccount, type OssAccountCredentials } from '../oss';
import {
  closeAfterUsers,
  ConfigProbe,
  hostUsers,
  PROBE_TIMEOUT_MS,
  redactSecrets,
  registerTestEndpoint,
  typedOrStored,
  type OssAccountNode,
} from './kit';

type AccountDef = NodeDef & Record<string, unknown>;

// Users flush for up to 10 s and then abort their uploads, which needs the sockets: wait a
// little longer than they do, and less than Node-RED's 15 s close timeout.
const CLOSE_WAIT_MS = 13000;

export = function (RED: NodeAPI) {
  function OssAccount(this: OssAccountNode, def: AccountDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    node.settings = readAccountSettings(def);
    // Its users (register/deregister; Node-RED delegates its error()/status() to their flows).
    const users = hostUsers(node);
    const httpAgent = new http.Agent({ keepAlive: true, maxSockets: node.settings.maxSockets, scheduling: 'lifo' });
    const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: node.settings.maxSockets, scheduling: 'lifo' });
    let shared: OSS | null = null;

    const creds = (): OssAccountCredentials => ({
      accessKeyId: (node.credentials?.accessKeyId ?? '').trim(),
      accessKeySecret: (node.credentials?.accessKeySecret ?? '').trim(),
    });

    node.newClient = () => {
      const c = creds();
      validateAccount(node.settings, c);
      const opts = { ...clientOptions(node.settings, c), agent: httpAgent, httpsAgent };
      return new OSS(opts as OSS.Options);
    };
    node.client = () => {
      if (!shared) shared = node.newClient();
      return shared;
    };
    node.location = () => {
      const c = creds();
      validateAccount(node.settings, c);
      return { endpoint: locationEndpoint(node.settings), bucket: node.settings.bucket, ...c };
    };
    node.secrets = () => [creds().accessKeySecret].filter((s) => s.length > 0);
    node.describe = () => describeAccount(node.settings);
    // Deploy-time probe: one bucket request (a listing of at most one key) with the account's
    // own client settings, bounded; its users show ready / unreachable before their first message.
    node.probe = new ConfigProbe((t) => redactSecrets(t, node.secrets()));
    void node.probe
      .run(async () => {
        const c = creds();
        validateAccount(node.settings, c);
        const client = new OSS({ ...clientOptions(node.settings, c), timeout: Math.min(node.settings.timeoutMs, PROBE_TIMEOUT_MS), agent: httpAgent, httpsAgent } as OSS.Options);
        await client.listV2({ 'max-keys': '1' }, {});
      }, PROBE_TIMEOUT_MS)
      .then((r) => {
        if (r.state === 'unreachable') node.warn(`${node.describe()}: connection check failed: ${r.reason}`);
      });

    // Users close concurrently with us: give them time to finish in-flight transfers
    // (aborting multipart uploads needs the sockets) before we destroy the agents.
    closeAfterUsers(node, users, {
      timeoutMs: CLOSE_WAIT_MS,
      shutdown: () => {
        shared = null;
        httpAgent.destroy();
        httpsAgent.destroy();
      },
      redact: (t) => redactSecrets(t, node.secrets()),
    });
  }

  RED.nodes.registerType('oss-account', OssAccount as unknown as Parameters<NodeAPI['nodes']['registerType']>[1], {
    credentials: { accessKeyId: { type: 'text' }, accessKeySecret: { type: 'password' } },
  });

  // Admin endpoint for the dialog's "Test connection" button: lists the first level under a
  // prefix using either the values typed in the dialog or, for the secret left untouched
  // (the editor sends '__PWRD__' or nothing), the credentials stored for the deployed node.
  // With `useDeployed: true` (the oss-export/oss-import "browse" buttons) every setting comes
  // from the deployed account.
  registerTestEndpoint(RED, '/oss-account/test', 'oss-account', (body) => {
    const id = typeof body.id === 'string' ? body.id : '';
    const c: OssAccountCredentials = {
      accessKeyId: typedOrStored(RED, id, typeof body.accessKeyId === 'string' ? body.accessKeyId.trim() : '', 'accessKeyId'),
      accessKeySecret: typedOrStored(RED, id, body.accessKeySecret, 'accessKeySecret'),
    };
    const prefix = typeof body.prefix === 'string' ? body.prefix : '';
    return {
      secrets: [c.accessKeySecret],
      run: async () => {
        // The flow nodes' "browse" buttons list with the deployed account's settings.
        let s = readAccountSettings(body);
        if (body.useDeployed === true) {
          const deployed = id ? (RED.nodes.getNode(id) as OssAccountNode | null) : null;
          if (!deployed || !deployed.settings) throw new Error('deploy the oss-account first, then browse');
          s = deployed.settings;
        }
        validateAccount(s, c);
        const agent = new http.Agent({ keepAlive: false });
        const httpsAgent = new https.Agent({ keepAlive: false });
        try {
          const client = new OSS({ ...clientOptions(s, c), agent, httpsAgent } as OSS.Options);
          const r = (await client.listV2({ prefix, delimiter: '/', 'max-keys': '100' }, {})) as unknown as {
            prefixes?: string[] | null;
            objects?: { name: string; size: number }[] | null;
            isTruncated?: boolean;
          };
          return {
            target: describeAccount(s),
            prefixes: r.prefixes ?? [],
            objects: (r.objects ?? []).map((o) => ({ name: o.name, size: o.size })),
            truncated: !!r.isTruncated,
          };
        } finally {
          agent.destroy();
          httpsAgent.destroy();
        }
      },
    };
  });
};
