import fs from "node:fs";
import path from "node:path";
import type { Pool, PoolClient } from "pg";
import type { Db } from "./db";

export type DbHandle = Db & { close(): Promise<void>; kind: "pglite" | "postgres" };

/** Opens PostgreSQL when a URL is given, else the embedded PGlite under `dataDir/pgdata`. */
export async function openDb(opts: { databaseUrl?: string; dataDir: string }): Promise<DbHandle> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openPglite(path.join(opts.dataDir, "pgdata"));
}

async function openPglite(dir: string): Promise<DbHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pg = await PGlite.create(dir);
  const wrap = (q: Pick<typeof pg, "query" | "exec">, inTx: boolean): Db => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await q.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
    transaction<T>(fn: (tx: Db) => Promise<T>) {
      return inTx ? fn(wrap(q, true)) : pg.transaction((tx) => fn(wrap(tx, true)));
    },
  });
  return { ...wrap(pg, false), kind: "pglite", close: () => pg.close() };
}

async function openPostgres(url: string): Promise<DbHandle> {
  const { default: pg } = await import("pg");
  // timestamptz and jsonb already parse; int8 (count(*)) would arrive as a string.
  pg.types.setTypeParser(20, (v) => Number(v));
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on("error", () => {}); // an idle client's broken socket is replaced on next checkout
  const client = (c: Pool | PoolClient): Pick<Db, "query" | "exec"> => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await c.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });
  const inTx = (c: PoolClient): Db => ({ ...client(c), transaction: (fn) => fn(inTx(c)) });
  return {
    kind: "postgres",
    ...client(pool),
    async transaction(fn) {
      const c = await pool.connect();
      try {
        await c.query("begin");
        const result = await fn(inTx(c));
        await c.query("commit");
        return result;
      } catch (err) {
        await c.query("rollback").catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
    close: () => pool.end(),
  };
}
