import fs from "node:fs";
import path from "node:path";
import type { Db } from "./db";

const MIGRATIONS_DIR = path.join(import.meta.dirname, "../../supabase/migrations");

/**
 * Applies supabase/migrations/*.sql in name order, each once, each in its own transaction.
 * An advisory lock keeps two Berth instances starting on one PostgreSQL from racing.
 */
export async function migrate(db: Db): Promise<string[]> {
  const files = fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  return db.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(hashtext('berth.migrate'))");
    await tx.query(
      "create table if not exists berth_migrations (name text primary key, applied_at timestamptz not null default now())",
    );
    const done = new Set((await tx.query<{ name: string }>("select name from berth_migrations")).map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await tx.exec(fs.readFileSync(path.join(MIGRATIONS_DIR, file), "utf8"));
      await tx.query("insert into berth_migrations (name) values ($1)", [file]);
      applied.push(file);
    }
    return applied;
  });
}
