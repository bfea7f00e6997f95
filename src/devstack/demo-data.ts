/**
 * The demo data of `npm start`: the tables the example flows write to and read from, and a
 * few objects in the demo bucket for the import example. Idempotent: a second start keeps
 * existing tables and rows.
 */
import OSS = require('ali-oss');
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

/** Demo objects (key → CSV text) for the import example, uploaded when missing. */
export const DEMO_OBJECTS: Readonly<Record<string, string>> = {};

export async function seedDemoObjects(
  _dataDir: string,
  bucket: string,
  account: { endpoint: string; accessKeyId: string; accessKeySecret: string },
): Promise<string> {
  const keys = Object.keys(DEMO_OBJECTS);
  if (!keys.length) return '';
  const client = new OSS({
    region: 'oss-cn-hangzhou',
    endpoint: account.endpoint,
    bucket,
    accessKeyId: account.accessKeyId,
    accessKeySecret: account.accessKeySecret,
    secure: false,
  } as OSS.Options);
  let uploaded = 0;
  for (const key of keys) {
    try {
      await client.head(key);
    } catch {
      await client.put(key, Buffer.from(DEMO_OBJECTS[key], 'utf8'));
      uploaded++;
    }
  }
  return `${keys.length} demo object(s)${uploaded ? `, ${uploaded} uploaded` : ''}`;
}
