// The runtime shape of an `oss-account` config node, as its users see it from
// `RED.nodes.getNode(config.account)` (the node file itself can only `export =`).
import type OSS = require('ali-oss');
import type { Node } from 'node-red';
import type { OssAccountCredentials, OssAccountSettings } from './account-options';

/** What the oss-export/oss-import nodes see from `RED.nodes.getNode(config.account)`. */
export interface OssAccountNode extends Node<Partial<OssAccountCredentials>> {
  settings: OssAccountSettings;
  /** The shared client (throws a config error naming the field when the dialog is incomplete). */
  client(): OSS;
  /**
   * A client of its own sharing this account's sockets. Use one per transfer where a call may
   * set client-wide state (ali-oss's abortMultipartUpload sets a cancel flag on its client).
   */
  newClient(): OSS;
  /** The parts of an oss:// LOCATION for the database segments. */
  location(): { endpoint: string; bucket: string; accessKeyId: string; accessKeySecret: string };
  /** Values to strip from any text leaving the node. */
  secrets(): string[];
  describe(): string;
  /** The deploy-time bucket check its users show as status. */
  probe?: import('../kit').ConfigProbe;
  register(user: { id: string }): void;
  deregister(user: { id: string }): Promise<void>;
}

