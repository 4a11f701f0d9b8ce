import { type Db, one } from "../db";

export async function getInstallationId(db: Db): Promise<string> {
  const row = await one(db.query<{ value: string }>("select value from berth_settings where key = 'installation_id'"));
  if (!row) throw new Error("the installation id is missing: migrations have not run");
  return row.value;
}
