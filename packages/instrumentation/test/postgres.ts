// The PostgreSQL the interceptor tests run against: the machine's, on 127.0.0.1.

import pg from 'pg';

export const CONNECTION = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

/** Why the PostgreSQL tests cannot run here, or null when the server answers. */
export async function postgresAbsent(): Promise<string | null> {
  const probe = new pg.Client({ ...CONNECTION, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
    await probe.end();
    return null;
  } catch (error) {
    return `no PostgreSQL at 127.0.0.1:5432 (${(error as Error).message})`;
  }
}
