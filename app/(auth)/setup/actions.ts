"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { getAppDeps } from "@/lib/app-deps";
import { startSession } from "@/lib/auth/current-user";
import { isBerthError } from "@/lib/core/errors";
import { createFirstAccount, isFirstRun } from "@/lib/core/services/accounts/first-run";
import { type AuthFormState, textField } from "../form-state";

const SetUpInput = z.object({
  name: z.string().trim().min(1, { error: "Enter a name for the account." }).max(200),
  email: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.email({ error: "Enter an email address." })),
  password: z.string().min(8, { error: "Use at least 8 characters." }).max(1024),
});

/** First run only: creates the first account and its owner (an operator), then signs the owner in. */
export async function setUpAction(_prev: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const values = { name: textField(formData, "name"), email: textField(formData, "email") };
  const parsed = SetUpInput.safeParse({ ...values, password: textField(formData, "password") });
  if (!parsed.success) return { values, fieldErrors: z.flattenError(parsed.error).fieldErrors };

  const deps = getAppDeps();
  // With Supabase Auth, users are Supabase's: accounts and members come from the CLI.
  if (deps.supabase) redirect("/setup");
  // Once anyone exists, accounts are made by their owners or the CLI, never by a stranger here.
  if (!(await isFirstRun(deps))) redirect("/sign-in");

  let session: { userId: string; accountId: string };
  try {
    const { name, email, password } = parsed.data;
    const created = await createFirstAccount(deps, {
      name,
      ownerEmail: email,
      ownerPasswordHash: await deps.hashPassword(password),
    });
    if (!created.userId) throw new Error("createAccount returned no owner");
    session = { userId: created.userId, accountId: created.account.id };
  } catch (err) {
    // Someone else finished first-run setup meanwhile: theirs stands.
    if (isBerthError(err) && err.code === "conflict") redirect("/sign-in");
    deps.log.error({ err }, "first-run setup failed");
    return { values, error: "Could not create the account. Please try again." };
  }
  await startSession(session);
  redirect("/dashboard");
}
