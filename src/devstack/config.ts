/**
 * `npm start` settings from the environment. Pure, so the parsing and its error messages
 * are unit-tested. Every service binds to 127.0.0.1; only the ports are configurable.
 */
import path from 'node:path';

export interface DevstackConfig {
  /** Where the stack keeps its data (.devstack/ under the package, or GPFLOW_DEVSTACK_DIR). */
  dir: string;
  /** The package to load into Node-RED (this repository). */
  packageDir: string;
  nodeRedPort: number;
  gpssPort: number;
  ossPort: number;
  pgPort: number;
  /** Use this server instead of a private cluster. */
  databaseUrl?: string;
  /** Redeploy the example flows even when the userDir already has flows. */
  resetFlows: boolean;
}

export const DEFAULT_PORTS = { NODE_RED_PORT: 1880, GPSS_PORT: 5000, OSS_PORT: 9000, PG_PORT: 55432 } as const;

export class DevstackConfigError extends Error {
  readonly code = 'DEVSTACK_CONFIG';
}

function port(env: NodeJS.ProcessEnv, name: keyof typeof DEFAULT_PORTS): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return DEFAULT_PORTS[name];
  const n = Number(raw.trim());
  // 0 = any free port (used by tests); the chosen port is printed.
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new DevstackConfigError(`${name}=${JSON.stringify(raw)} is not a TCP port (0-65535)`);
  }
  return n;
}

export function configFromEnv(env: NodeJS.ProcessEnv, packageDir: string): DevstackConfig {
  const dir = env.GPFLOW_DEVSTACK_DIR?.trim() ? path.resolve(env.GPFLOW_DEVSTACK_DIR.trim()) : path.join(packageDir, '.devstack');
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new DevstackConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const config: DevstackConfig = {
    dir,
    packageDir,
    nodeRedPort: port(env, 'NODE_RED_PORT'),
    gpssPort: port(env, 'GPSS_PORT'),
    ossPort: port(env, 'OSS_PORT'),
    pgPort: port(env, 'PG_PORT'),
    databaseUrl,
    resetFlows: /^(1|true|yes)$/i.test(env.GPFLOW_DEVSTACK_RESET_FLOWS ?? ''),
  };
  const fixed = [
    ['NODE_RED_PORT', config.nodeRedPort],
    ['GPSS_PORT', config.gpssPort],
    ['OSS_PORT', config.ossPort],
    ...(databaseUrl ? [] : [['PG_PORT', config.pgPort]]),
  ] as [string, number][];
  const seen = new Map<number, string>();
  for (const [name, value] of fixed) {
    if (value !== 0 && seen.has(value)) throw new DevstackConfigError(`${name} and ${seen.get(value)} are both ${value}`);
    seen.set(value, name);
  }
  return config;
}

/** A connection URL with the password replaced, for printing. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
