/**
 * Composes the flows `npm start` deploys: every example flow on a tab of its own, all their
 * config nodes replaced by ONE shared set pointing at the local stack (so switching the
 * whole demo to a real cluster is an edit of three config nodes), ids made unique across
 * examples, secrets attached as `credentials` (Node-RED moves them into the encrypted
 * flows_cred.json on deploy). Pure: no I/O, unit-tested.
 */
import { createHash } from 'node:crypto';
import type { FlowNode } from './admin-api';

export interface StackAddresses {
  pg: { host: string; port: number; database: string; user: string; password: string };
  gpss: { host: string; port: number };
  oss: { endpoint: string; bucket: string; accessKeyId: string; accessKeySecret: string };
}

export interface ExampleFlow {
  /** Label: the example's path under examples/ without `.json` (e.g. `gpss/stream-ingest`). */
  name: string;
  nodes: FlowNode[];
}

/** Ids of the shared config nodes; stable so a second start can find and update them. */
export const DEVSTACK_CONFIG_IDS = {
  'greenplum-db': 'devstack-greenplum-db',
  'gpss-server': 'devstack-gpss-server',
  'oss-account': 'devstack-oss-account',
} as const;

export type DevstackConfigType = keyof typeof DEVSTACK_CONFIG_IDS;
const CONFIG_TYPES = Object.keys(DEVSTACK_CONFIG_IDS) as DevstackConfigType[];

const isConfigType = (type: string): type is DevstackConfigType => (CONFIG_TYPES as string[]).includes(type);

/** Keeps the example's value type (the editor stores numbers as strings, flows may hold numbers). */
function like(previous: unknown, value: string | number): string | number {
  return typeof previous === 'number' ? Number(value) : String(value);
}

/**
 * The properties and credentials that point one of our config nodes at the local stack,
 * applied over whatever the example (or the user) set.
 */
export function pointAtStack(node: FlowNode, stack: StackAddresses): FlowNode {
  const out: FlowNode = { ...node };
  switch (node.type) {
    case 'greenplum-db':
      out.name = 'local PostgreSQL (npm start)';
      out.host = stack.pg.host;
      out.port = like(node.port, stack.pg.port);
      out.database = stack.pg.database;
      out.user = stack.pg.user;
      out.tls = false;
      out.credentials = { password: stack.pg.password };
      break;
    case 'gpss-server':
      out.name = 'local gpss-pg (npm start)';
      out.host = stack.gpss.host;
      out.port = like(node.port, stack.gpss.port);
      out.tls = false;
      // The stack runs gpss-pg as its own service; the node must not start another one.
      out.mode = 'remote';
      // The login gpss-pg uses for Connect.
      out.db = DEVSTACK_CONFIG_IDS['greenplum-db'];
      break;
    case 'oss-account':
      out.name = 'local OSS emulator (npm start)';
      out.endpoint = stack.oss.endpoint;
      out.bucket = stack.oss.bucket;
      out.secure = false;
      out.extEndpoint = '';
      out.credentials = { accessKeyId: stack.oss.accessKeyId, accessKeySecret: stack.oss.accessKeySecret };
      break;
    default:
      break;
  }
  return out;
}

/** A short deterministic id (Node-RED ids are opaque strings; 16 hex chars like the editor's). */
function newId(scope: string, oldId: string): string {
  return createHash('sha1').update(`${scope}\0${oldId}`).digest('hex').slice(0, 16);
}

/** Replaces every string (also inside arrays and plain objects) that is a key of `map`. */
function remapIds(value: unknown, map: Map<string, string>): unknown {
  if (typeof value === 'string') return map.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => remapIds(v, map));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = remapIds(v, map);
    return out;
  }
  return value;
}

const isFlowNode = (n: FlowNode): boolean => typeof n.x === 'number' && typeof n.y === 'number';

/**
 * Every example on its own tab, one shared config node per type pointing at the stack.
 * Config nodes of our types found in examples lend their other settings (pool size,
 * timeouts…) to the shared node: the first one of each type wins.
 */
export function composeDevstackFlows(examples: readonly ExampleFlow[], stack: StackAddresses): FlowNode[] {
  const shared = new Map<DevstackConfigType, FlowNode>();
  const flows: FlowNode[] = [];
  examples.forEach((example) => {
    const scope = `example:${example.name}`;
    const idMap = new Map<string, string>();
    for (const n of example.nodes) {
      if (isConfigType(n.type)) {
        idMap.set(n.id, DEVSTACK_CONFIG_IDS[n.type]);
        if (!shared.has(n.type)) shared.set(n.type, { ...n, id: DEVSTACK_CONFIG_IDS[n.type] });
      } else {
        idMap.set(n.id, newId(scope, n.id));
      }
    }
    const tabs = example.nodes.filter((n) => n.type === 'tab');
    const defaultTab = tabs.length ? idMap.get(tabs[0].id)! : newId(scope, 'tab');
    if (!tabs.length) {
      flows.push({ id: defaultTab, type: 'tab', label: example.name, disabled: false, info: `Example ${example.name} (deployed by npm start)` });
    }
    const tabIds = new Set(tabs.map((t) => idMap.get(t.id)!));
    for (const n of example.nodes) {
      if (isConfigType(n.type)) continue;
      const copy = remapIds(n, idMap) as FlowNode;
      if (n.type === 'tab') {
        copy.label = (n.label as string | undefined) || example.name;
      } else if (isFlowNode(n) || n.type === 'group' || n.type === 'junction') {
        if (!copy.z || !tabIds.has(copy.z)) copy.z = defaultTab;
      } else if (copy.z && !tabIds.has(copy.z)) {
        // A flow-scoped config node of a tab not in this example: make it scoped to ours.
        copy.z = defaultTab;
      }
      delete copy.credentials;
      flows.push(copy);
    }
  });
  // Every type gets a shared node even when no example declares it, so users find them in
  // the config sidebar ready to use.
  for (const type of CONFIG_TYPES) {
    const base = shared.get(type) ?? { id: DEVSTACK_CONFIG_IDS[type], type };
    const node = pointAtStack(base, stack);
    delete node.z;
    delete node.x;
    delete node.y;
    delete node.wires;
    flows.push(node);
  }
  return flows;
}

/**
 * On a later start the user's flows are kept; only the shared config nodes are re-pointed
 * (ports may differ between starts). Returns null when nothing changed.
 */
export function repointDevstackConfig(flows: readonly FlowNode[], stack: StackAddresses): FlowNode[] | null {
  let changed = false;
  const out = flows.map((n) => {
    if (!isConfigType(n.type) || n.id !== DEVSTACK_CONFIG_IDS[n.type]) return n;
    const updated = pointAtStack(n, stack);
    const { credentials: _creds, ...plain } = updated;
    if (JSON.stringify(plain) !== JSON.stringify(n)) changed = true;
    return updated;
  });
  return changed ? out : null;
}
