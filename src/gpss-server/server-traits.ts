// What the database behind a session can do. gpss-pg runs against PostgreSQL (13+ in our
// tests) and Greenplum 6 (PostgreSQL 9.4 inside): the catalog columns and DDL it uses differ.
// Read once per connection, kept beside the pg Client.
import type { Client } from 'pg';

export interface ServerTraits {
  /** server_version_num, e.g. 150004 or 90426 (Greenplum 6). */
  versionNum: number;
  greenplum: boolean;
  /** pg_class.relrowsecurity (9.5+). */
  rowSecurity: boolean;
  /** pg_attribute.attgenerated (12+). */
  generatedColumns: boolean;
  /** GENERATED … AS IDENTITY (10+). */
  identityColumns: boolean;
}

export function traitsFor(versionNum: number, greenplum: boolean): ServerTraits {
  return {
    versionNum,
    greenplum,
    rowSecurity: versionNum >= 90500,
    generatedColumns: versionNum >= 120000,
    identityColumns: versionNum >= 100000,
  };
}

const cache = new WeakMap<Client, Promise<ServerTraits>>();

export function serverTraits(client: Client): Promise<ServerTraits> {
  let p = cache.get(client);
  if (!p) {
    p = client
      .query<{ num: string; version: string }>(`SELECT current_setting('server_version_num') AS num, version() AS version`)
      .then(({ rows }) => traitsFor(Number(rows[0].num), /Greenplum/i.test(rows[0].version)));
    // A failed probe (connection lost mid-query) is not remembered.
    p.catch(() => cache.delete(client));
    cache.set(client, p);
  }
  return p;
}
