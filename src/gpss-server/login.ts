// The PostgreSQL login of one Connect: the client's credentials and nothing else.
import type { ClientConfig } from 'pg';

export interface ConnectLogin {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * node-pg fills in what a config leaves falsy: `user`, `password`, `database`, `host`, `port`
 * from PGUSER / PGPASSWORD / … of gpss-pg's own environment, and a null password from
 * ~/.pgpass (node-pg lib/connection-parameters.js `val()`, lib/client.js `_getPassword`). An
 * empty Connect password would then log in with gpss-pg's secrets. Given a function, node-pg
 * takes its result as the password as is and consults neither (the documented way to supply a
 * password, client.js `_getPassword`), so the database's own authentication decides on an empty
 * one. The other login fields are never empty here (Connect refuses empty Host, DB, Username).
 */
export function pgLoginConfig(login: ConnectLogin, ssl: ClientConfig['ssl']): ClientConfig {
  const password = login.password;
  return {
    host: login.host,
    port: login.port,
    user: login.user,
    database: login.database,
    password: () => password,
    ssl,
    connectionTimeoutMillis: 15000,
    application_name: 'gpss-pg',
  };
}
