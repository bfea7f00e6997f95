// Runtime shapes of our config nodes, shared by the nodes that use them (and by the OSS nodes).
import type { Node } from 'node-red';
import type { ClientConfig, Pool } from 'pg';
import type { ConfigProbe } from './probe';

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
