/**
 * The one database interface Berth's queries use. It is driver-free so that the same
 * queries run on PGlite, node-postgres and (in the Edge Function) Deno.
 */
export interface Db {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements, without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in a transaction; nested calls reuse the outer one. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
}

export async function one<T>(rows: Promise<T[]>): Promise<T | undefined> {
  return (await rows)[0];
}
