import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { parseInput } from "@/lib/core/http/input";
import { type AccountSettings, UpdateAccountSettingsInput } from "@/lib/core/schemas/account";
import { type AccountRow, getAccount, updateAccount } from "@/lib/db/queries/accounts";
import { requireAdmin } from "./scope";

export type SettingsCtx = Pick<Ctx, "db" | "accountId" | "actor" | "role">;

const toSettings = (row: AccountRow): AccountSettings => ({
  id: row.id,
  name: row.name,
  default_timeout: row.default_timeout,
});

/** The account's name and settings; any member may look. */
export async function getAccountSettings(ctx: SettingsCtx): Promise<AccountSettings> {
  const row = await getAccount(ctx.db, { accountId: ctx.accountId });
  if (!row) throw new BerthError("not_found", "No such account.");
  return toSettings(row);
}

/**
 * Changes the account's name and/or `default_timeout` (owners and admins); a field left out stays
 * as it is, `default_timeout: null` goes back to each server's own. The default applies to
 * connections installed afterwards without a `timeout`.
 */
export async function updateAccountSettings(
  ctx: SettingsCtx,
  input: UpdateAccountSettingsInput,
): Promise<AccountSettings> {
  requireAdmin(ctx);
  const patch = parseInput(UpdateAccountSettingsInput, input);
  const row = await updateAccount(ctx.db, { accountId: ctx.accountId }, patch);
  if (!row) throw new BerthError("not_found", "No such account.");
  return toSettings(row);
}
