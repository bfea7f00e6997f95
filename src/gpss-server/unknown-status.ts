// Test-only: gpss-pg answering like a real GPSS, whose handler errors reach clients as UNKNOWN.
//
// A grpc-go handler that returns a plain Go error is answered with codes.Unknown and the error's
// text (grpc-go `status.Convert`), and GPSS quotes Greenplum through lib/pq, whose errors read
// "pq: <message>" without the SQLSTATE (lib/pq error.go). With `errorCodes: 'unknown'` every
// error gpss-pg's handlers return is answered that way, so that tests can run the client and
// the nodes against both styles. Statuses made by the gRPC layer itself (message too large,
// deadline, connection lost) are not handler errors and keep their codes, as with grpc-go.
import { status } from '@grpc/grpc-js';

export type ErrorCodes = 'specific' | 'unknown';

/** "ERROR 22P02: invalid input…" (gpss-pg's quote of PostgreSQL) → "pq: invalid input…" (lib/pq's). */
export function asLibPqText(details: string): string {
  return details.replace(/\b(?:ERROR|FATAL|PANIC) [0-9A-Z]{5}: /g, 'pq: ');
}

/** The status a grpc-go server returning the same error as a plain Go error would send. */
export function asUnknownStatus<T extends { code?: number; details?: string }>(e: T): T {
  return { ...e, code: status.UNKNOWN, details: asLibPqText(e.details ?? '') };
}

export function checkErrorCodes(v: unknown): ErrorCodes {
  if (v === undefined || v === 'specific') return 'specific';
  if (v === 'unknown') return 'unknown';
  throw new Error(`errorCodes must be 'specific' or 'unknown' (got ${JSON.stringify(v)})`);
}
