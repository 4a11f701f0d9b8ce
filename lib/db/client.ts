import fs from "node:fs";
import path from "node:path";
import type { Pool, PoolClient } from "pg";
import { BerthError } from "@/lib/core/errors";
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
      return (await c.query(sql, params).catch(unreachable)).rows as T[];
    },
    async exec(sql: string) {
      await c.query(sql).catch(unreachable);
    },
  });
  const inTx = (c: PoolClient): Db => ({ ...client(c), transaction: (fn) => fn(inTx(c)) });
  return {
    kind: "postgres",
    ...client(pool),
    async transaction(fn) {
      const c = await pool.connect().catch(unreachable);
      let broken: Error | undefined;
      // The pool listens for a client's errors only while it is idle: a session dropped while this
      // transaction holds it would be an uncaught error. The query under way fails by itself.
      const dropped = (err: Error) => {
        broken = err;
      };
      c.on("error", dropped);
      try {
        await c.query("begin").catch(unreachable);
        const result = await fn(inTx(c));
        await c.query("commit").catch(unreachable);
        return result;
      } catch (err) {
        if (isConnectionLost(err)) broken = err as Error;
        await c.query("rollback").catch(() => {});
        throw err;
      } finally {
        c.off("error", dropped);
        c.release(broken); // a client whose connection broke is dropped, not pooled again
      }
    },
    close: () => pool.end(),
  };
}

/**
 * PostgreSQL's connection exceptions (class 08), its shutting a session down or not taking new
 * ones yet (57P01-57P03), and its running out of room for one (class 53: too many clients, a full
 * pooler, out of memory or disk).
 */
const LOST_SQLSTATES = /^(08...|57P0[123]|53...)$/;
const LOST_SOCKET = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** Whether a query failed because the database could not be reached or dropped the session. */
function isConnectionLost(err: unknown): boolean {
  if (err instanceof BerthError) return err.code === "unavailable";
  const { code, message } = err as { code?: string; message?: string };
  if (code && (LOST_SQLSTATES.test(code) || LOST_SOCKET.has(code))) return true;
  // pg's own words when the socket ends under a query or a client is used after it broke, and
  // PostgreSQL's for a database closed to new sessions (55000, ALTER DATABASE … ALLOW_CONNECTIONS false).
  return /Connection terminated|not queryable|timeout exceeded when trying to connect|not currently accepting connections/i.test(
    message ?? "",
  );
}

/**
 * A lost database is the caller's 503 to try again, not a 500: nothing is retried here, since a
 * write whose session dropped may or may not have committed. Other errors pass as they are.
 */
function unreachable(err: unknown): never {
  if (!isConnectionLost(err) || err instanceof BerthError) throw err;
  throw new BerthError("unavailable", "The database cannot be reached right now; try again.", undefined, 1);
}
