"use server";

import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import { switchAccount } from "@/lib/auth/current-user";
import { BerthError } from "@/lib/core/errors";
import { listMyAccounts } from "@/lib/core/services/accounts/memberships";

/** Acts in another of the user's accounts from now on (this session only). */
export const switchAccountAction = defineAction(z.strictObject({ account_id: z.uuid() }), async (ctx, input) => {
  const member = (await listMyAccounts(ctx)).some((m) => m.account_id === input.account_id);
  if (!member) throw new BerthError("not_found", "No such account.");
  await switchAccount(input.account_id);
  return { account_id: input.account_id };
});
