import type { Db } from "@/lib/db/db";
import { insertServerIfMissing } from "@/lib/db/queries/servers";
import { CATALOGUE } from "./catalogue";

/** Adds the catalogue's definitions whose slugs are new; an operator's changes are kept. */
export async function seedCatalogue(db: Db) {
  for (const def of CATALOGUE) await insertServerIfMissing(db, def);
}
