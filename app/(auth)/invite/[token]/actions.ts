"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { getAppDeps } from "@/lib/app-deps";
import { getSignedInUserId, startSession, switchAccount } from "@/lib/auth/current-user";
import { isBerthError } from "@/lib/core/errors";
import { acceptInvite, joinInvite } from "@/lib/core/services/members";
import { type AuthFormState, textField } from "../../form-state";

const AcceptInput = z.object({
  token: z.string().min(1).max(200),
  password: z.string().min(8, { error: "Use at least 8 characters." }).max(1024),
});

/** A new user: sets the password they choose (this invitation only), then signs them in. */
export async function acceptInviteAction(_prev: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const parsed = AcceptInput.safeParse({
    token: textField(formData, "token"),
    password: textField(formData, "password"),
  });
  if (!parsed.success) return { fieldErrors: z.flattenError(parsed.error).fieldErrors };
  const deps = getAppDeps();
  if (deps.supabase) return { error: "This Berth signs in with Supabase Auth: sign in, then accept." };
  return settle(async () => startSession(await acceptInvite(deps, parsed.data)));
}

/** A user who is signed in as the one invited: joins the account and acts in it. */
export async function joinInviteAction(_prev: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const userId = await getSignedInUserId();
  if (!userId) return { error: "Sign in first." };
  return settle(async () => {
    const joined = await joinInvite(getAppDeps(), { token: textField(formData, "token"), userId });
    await switchAccount(joined.accountId);
  });
}

async function settle(run: () => Promise<void>): Promise<AuthFormState> {
  try {
    await run();
  } catch (err) {
    if (isBerthError(err) && err.status < 500) return { error: err.message };
    getAppDeps().log.error({ err }, "accepting an invite failed");
    return { error: "Could not accept the invite. Please try again." };
  }
  redirect("/dashboard");
}
