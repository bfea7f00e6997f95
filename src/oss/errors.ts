/**
 * Errors of the OSS library. Every error has a stable `code`, names what failed (operation,
 * key) and never contains credentials.
 */
export class OssOperationError extends Error {
  readonly code: string;
  constructor(
    message: string,
    readonly details: { operation: string; key?: string; status?: number; ossCode?: string; requestId?: string; attempts?: number; cause?: unknown },
  ) {
    super(message);
    this.name = 'OssOperationError';
    this.code = 'OSS_' + (details.ossCode ?? (details.status !== undefined ? String(details.status) : 'FAILED'));
  }
}

/** Thrown when an AbortSignal fired. */
export class OssAbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'the OSS transfer was cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}
