// gRPC status errors of the server, and the mapping of PostgreSQL errors onto them.
import { status } from '@grpc/grpc-js';

export { status as GrpcStatus };

/** An error answered to the client with this gRPC status code and text. */
export class GpssStatusError extends Error {
  constructor(readonly code: status, message: string) {
    super(message);
    this.name = 'GpssStatusError';
  }
}

export const invalid = (m: string) => new GpssStatusError(status.INVALID_ARGUMENT, m);
export const precondition = (m: string) => new GpssStatusError(status.FAILED_PRECONDITION, m);
export const notFound = (m: string) => new GpssStatusError(status.NOT_FOUND, m);
export const aborted = (m: string) => new GpssStatusError(status.ABORTED, m);

interface PgErrorLike {
  code?: string;
  message?: string;
  severity?: string;
}

/** True for an error reported by the PostgreSQL server (it carries a SQLSTATE). */
export function isPgError(err: unknown): err is PgErrorLike & Error {
  return err instanceof Error && typeof (err as PgErrorLike).code === 'string' && /^[0-9A-Z]{5}$/.test((err as PgErrorLike).code!);
}

/** "ERROR 23505: duplicate key value …" — SQLSTATE and PostgreSQL's text (spec §4). */
export function describePgError(err: unknown): string {
  if (isPgError(err)) return `${err.severity ?? 'ERROR'} ${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Maps an error of a Connect attempt: auth → UNAUTHENTICATED, unreachable → UNAVAILABLE. */
export function connectError(err: unknown, target: string): GpssStatusError {
  const e = err as { code?: string; message?: string };
  const text = describePgError(err);
  if (e && typeof e.code === 'string') {
    if (e.code === '28P01' || e.code === '28000') return new GpssStatusError(status.UNAUTHENTICATED, `cannot log in to ${target}: ${text}`);
    if (e.code === '3D000') return new GpssStatusError(status.NOT_FOUND, `cannot connect to ${target}: ${text}`);
    if (e.code === '53300') return new GpssStatusError(status.RESOURCE_EXHAUSTED, `cannot connect to ${target}: ${text}`);
    if (/^E[A-Z]+$/.test(e.code)) return new GpssStatusError(status.UNAVAILABLE, `cannot reach ${target}: ${text}`);
  }
  // node-pg refuses to run SCRAM with an empty password (lib/crypto/sasl.js): the database
  // asked for a password and the client sent none. A failed login, not an outage.
  if (e && typeof e.message === 'string' && /^SASL: .*password must be a non-empty string/.test(e.message)) {
    return new GpssStatusError(status.UNAUTHENTICATED, `cannot log in to ${target}: the database requires a password and the Connect request's Password is empty`);
  }
  return new GpssStatusError(status.UNAVAILABLE, `cannot connect to ${target}: ${text}`);
}
