/**
 * The demo data of `npm start`: the database, bucket and tables the example flows use
 * (the examples ship placeholder connections, which `npm start` points at `gpflow_demo` and
 * `gpflow-demo`; their tables are `public.sensor_readings`). Idempotent: a
 * second start keeps existing tables and rows. The bucket starts empty: the export examples
 * fill it, the import example reads what they wrote.
 */
import { Client } from 'pg';

export const DEMO_DATABASE = 'gpflow_demo';
export const DEMO_BUCKET = 'gpflow-demo';

/** CREATE TABLE IF NOT EXISTS statements, by table name (the names the examples use). */
export const DEMO_TABLES: Readonly<Record<string, string>> = {
  sensor_readings: `CREATE TABLE IF NOT EXISTS public.sensor_readings (
    device_id   text NOT NULL,
    ts          timestamp NOT NULL,
    temperature double precision,
    humidity    double precision
  )`,
};

export async function createDemoTables(databaseUrl: string): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const ddl of Object.values(DEMO_TABLES)) await client.query(ddl);
  } finally {
    await client.end();
  }
  return Object.keys(DEMO_TABLES);
}
