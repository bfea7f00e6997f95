// The OSS nodes' names for the node kit's error shaping and the one redaction (kit/errors.ts,
// src/shared/redact.ts). Kept so the OSS nodes read as before until they use the kit directly.
import { NodeError, toNodeError as kitToNodeError, redactSecrets } from '../kit';

export { NodeError as OssNodeError };
export type { NodeErrorInfo as OssNodeErrorInfo } from '../kit';

/** The one redaction (src/shared/redact.ts). */
export const redact = redactSecrets;

/** kit's toNodeError, with the OSS nodes' default code. */
export function toNodeError(err: unknown, context: string, secrets: readonly (string | undefined)[]): NodeError {
  return kitToNodeError(err, context, secrets, 'OSS_NODE');
}
