// Error shaping for every node: whatever a handler caught becomes an Error fit for done(err)
// (Catch), logs and status — it names what failed, carries the details a Catch node can act on
// (HTTP status, request id, OSS code, SQLSTATE, gRPC status) in `cause`, and never a secret
// (one redaction, src/shared/redact.ts).
import type { NodeStatus } from 'node-red';
import { withDetails } from '../../shared/error-details';
import { redactSecrets } from '../../shared/redact';

/** `err` as an Error (a thrown string or object becomes one with its text). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The message of `err`. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One line of at most `max` characters (no "Error:" prefix), for a status or a probe reason. */
export function oneLine(text: string, max = 200): string {
  const t = text.replace(/^Error:\s*/, '').replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/** The core nodes' error status: a red ring with the start of the error's text. */
export function errorStatus(err: unknown): NodeStatus {
  return { fill: 'red', shape: 'ring', text: oneLine(errorText(err), 40) };
}

export interface NodeErrorInfo {
  code?: string;
  status?: number;
  requestId?: string;
}

export class NodeError extends Error implements NodeErrorInfo {
  code: string;
  /** A short form for node status: the OSS/PG code, or the start of the cause. */
  brief = '';
  status?: number;
  requestId?: string;
  constructor(message: string, info: NodeErrorInfo = {}) {
    super(message);
    this.name = 'NodeError';
    this.code = info.code ?? 'NODE_ERROR';
    if (info.status !== undefined) this.status = info.status;
    if (info.requestId) this.requestId = info.requestId;
  }
}

function field(e: unknown, k: string): unknown {
  if (!e || typeof e !== 'object') return undefined;
  const v = (e as Record<string, unknown>)[k];
  if (v !== undefined) return v;
  // src/oss's OssOperationError keeps status/requestId/ossCode under `details`.
  const d = (e as { details?: unknown }).details;
  return d && typeof d === 'object' ? (d as Record<string, unknown>)[k === 'code' ? 'ossCode' : k] : undefined;
}

/**
 * Wraps `err` as a NodeError whose message starts with `context` (e.g. "oss-export of public.t
 * to oss://bucket/prefix") and ends with the cause and its code/HTTP status; secrets removed;
 * the details in `cause` for Catch. `defaultCode` is the code when the cause has none.
 */
export function toNodeError(err: unknown, context: string, secrets: readonly (string | undefined)[], defaultCode = 'NODE_ERROR'): NodeError {
  const causeMsg = errorText(err);
  const code = field(err, 'code');
  const status = field(err, 'status');
  const requestId = field(err, 'requestId');
  const parts: string[] = [];
  if (typeof code === 'string' && code && !causeMsg.includes(code)) parts.push(code);
  if (typeof status === 'number' && status > 0) parts.push(`HTTP ${status}`);
  const detail = parts.length ? ` (${parts.join(', ')})` : '';
  const redact = (t: string): string => redactSecrets(t, secrets);
  const e = new NodeError(redact(`${context}: ${causeMsg}${detail}`), {
    code: typeof code === 'string' && code ? code : defaultCode,
    ...(typeof status === 'number' ? { status } : {}),
    ...(typeof requestId === 'string' ? { requestId } : {}),
  });
  const bare = typeof code === 'string' ? code.replace(/^OSS_/, '') : '';
  const ossCode = /^[A-Z][A-Za-z]+$/.test(bare) ? bare : '';
  const short = ossCode ? `${ossCode}${typeof status === 'number' && status > 0 ? ` (${status})` : ''}` : redact(causeMsg);
  e.brief = short.length > 40 ? `${short.slice(0, 39)}…` : short;
  return withDetails(e, err, redact);
}

/**
 * The one rule for a node whose settings are invalid (a SettingError, a bad option): it does not
 * become a silent sink — it shows the error as a red status, logs it once, and fails every
 * message with it (Catch sees the option named), until it is redeployed with valid settings.
 */
export function failedSetup(
  node: { status(s: NodeStatus): void; error(text: string): void; on(event: 'input', h: (msg: object, send: unknown, done: (err?: Error) => void) => void): unknown },
  err: unknown,
  /** The node's status, when it has one: it shows the error and nothing after it (no probe, no connection state). */
  status?: { setNow(s: NodeStatus): void; dispose(): void },
): void {
  const e = asError(err);
  if (status) {
    status.setNow(errorStatus(e));
    status.dispose();
  } else node.status(errorStatus(e));
  node.error(e.message);
  node.on('input', (_msg, _send, done) => done(e));
}
