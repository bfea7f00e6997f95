/**
 * The few calls of Node-RED's admin HTTP API that the devstack and the tests need
 * (https://nodered.org/docs/api/admin/). Loopback only, no auth (the devstack sets none).
 */
import http from 'node:http';

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  x?: number;
  y?: number;
  wires?: string[][];
  credentials?: Record<string, string>;
  [key: string]: unknown;
}

export interface AdminResponse {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

export function adminRequest(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<AdminResponse> {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        headers: {
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T });
        });
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
    req.end(payload);
  });
}

/** GET /flows in the v2 format: { rev, flows }. */
export async function getFlows(baseUrl: string): Promise<{ rev: string; flows: FlowNode[] }> {
  const res = await adminRequest(baseUrl, 'GET', '/flows', undefined, { 'Node-RED-API-Version': 'v2' });
  if (res.status !== 200) throw new Error(`GET /flows answered ${res.status}: ${res.body.slice(0, 200)}`);
  return res.json<{ rev: string; flows: FlowNode[] }>();
}

/**
 * A full deploy through POST /flows. Nodes may carry `credentials` (as the editor sends them);
 * the runtime moves those into the encrypted credentials file and strips them from flows.json.
 */
export async function deployFlows(baseUrl: string, flows: FlowNode[]): Promise<string> {
  const { rev } = await getFlows(baseUrl);
  const res = await adminRequest(
    baseUrl,
    'POST',
    '/flows',
    { rev, flows },
    { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
  );
  if (res.status !== 200) throw new Error(`POST /flows answered ${res.status}: ${res.body.slice(0, 300)}`);
  return res.json<{ rev: string }>().rev;
}

/** The node sets the runtime loaded (GET /nodes), for checking our types registered. */
export async function getNodeSets(
  baseUrl: string,
): Promise<{ id: string; name: string; types: string[]; enabled: boolean; loaded: boolean; module: string; err?: string }[]> {
  const res = await adminRequest(baseUrl, 'GET', '/nodes');
  if (res.status !== 200) throw new Error(`GET /nodes answered ${res.status}`);
  return res.json();
}
