import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { getServer, upsertServer } from "@/lib/db/queries/servers";
import { catalogueSeedSql, SEED_PATH } from "@/scripts/supabase-seed";
import { openTestDb, type TestDb } from "../support/databases";

describe("supabase/seed.sql", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("pglite");
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("is what scripts/supabase-seed.ts generates from the catalogue (rerun the script when this fails)", () => {
    expect(fs.readFileSync(SEED_PATH, "utf8")).toBe(catalogueSeedSql());
  });

  it("inserts the catalogue as seedCatalogue() does, and keeps an operator's edits when run again", async () => {
    await t.db.exec(fs.readFileSync(SEED_PATH, "utf8"));
    for (const def of CATALOGUE) {
      const {
        id: _id,
        created_at: _c,
        updated_at: _u,
        removed_at: _r,
        ...stored
      } = (await getServer(t.db, { idOrSlug: def.slug })) ?? {};
      expect(stored).toEqual(def);
    }
    const memory = await getServer(t.db, { idOrSlug: "memory" });
    await upsertServer(t.db, { ...(memory as NonNullable<typeof memory>), title: "Edited" });
    await t.db.exec(fs.readFileSync(SEED_PATH, "utf8"));
    expect((await getServer(t.db, { idOrSlug: "memory" }))?.title).toBe("Edited");
  });
});
