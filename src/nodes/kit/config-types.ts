// Runtime shapes of our config nodes, shared by the nodes that use them (and by the OSS nodes).
import type { Node } from 'node-red';
import type { ClientConfig, Pool } from 'pg';
import type OSS = require('ali-oss');
import type { ConfigProbe } from './probe';
import type { OssAccountCredentials, OssAccountSettings } from '../../oss';

export interface GreenplumDbCreds {
  password?: string;
  tlsCa?: string;
}

/** `RED.nodes.getNode(id)` of a greenplum-db config node. */
export interface GreenplumDbConfigNode extends Node<GreenplumDbCreds> {
  host: string;
  port: number;
  database: string;
  user: string;
  tls: boolean;
  poolSize: number;
  clientConfig(): ClientConfig;
  getPool(): Pool;
  register(user: object): void;
  deregister(user: object): Promise<void>;
  /** postgres:// URL with the password (for the embedded GPSS server). Never log it. */
  connectionUrl(): string;
  /** Removes this node's secrets from a text. */
  redact(text: string): string;
  /** The deploy-time connection check its users show as status. */
  probe?: ConfigProbe;
}

/** `RED.nodes.getNode(id)` of a gpss-server config node. */
export interface GpssServerConfigNode extends Node {
  mode: 'embedded' | 'remote';
  /** The shared channel, sessions, table descriptions and open jobs. */
  service: import('../../gpss').GpssService;
  register(user: object): void;
  deregister(user: object): Promise<void>;
  /** 'host:port' of the GPSS endpoint once known ('' before the embedded server started). */
  address(): string;
  redact(text: string): string;
  /** The deploy-time connection check (endpoint up, Connect + ListSchema) its users show as status. */
  probe?: ConfigProbe;
}

/** `RED.nodes.getNode(id)` of an oss-account config node. */
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
  probe?: ConfigProbe;
  register(user: object): void;
  deregister(user: object): Promise<void>;
}
