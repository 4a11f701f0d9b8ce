import fs from "node:fs";
import os from "node:os";
import pg from "pg";
import { type DbHandle, openDb } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";
import { tempDir } from "./temp-dirs";

/** The PostgreSQL server the data tests use; each run creates and drops its own database on it. */
export const POSTGRES_ADMIN_URL = process.env.BERTH_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export type TestDb = { db: DbHandle; drop(): Promise<void> };

export async function openTestDb(kind: "pglite" | "postgres"): Promise<TestDb> {
  if (kind === "pglite") {
    const dataDir = tempDir("berth-pglite-");
    const db = await openDb({ dataDir });
    await migrate(db);
    return {
      db,
      async drop() {
        await db.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const { url, drop } = await createPostgresDatabase();
  const db = await openDb({ databaseUrl: url, dataDir: os.tmpdir() });
  await migrate(db);
  return {
    db,
    async drop() {
      await db.close();
      await drop();
    },
  };
}

/** A new, empty database on the test PostgreSQL server, and how to drop it. */
export async function createPostgresDatabase() {
  const name = `berth_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
