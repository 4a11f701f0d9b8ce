"use server";

import { isAuthRetryableFetchError } from "@supabase/supabase-js";
import { redirect } from "next/navigation";
import { z } from "zod";
import { getAppDeps } from "@/lib/app-deps";
import { startSession } from "@/lib/auth/current-user";
import { nextPath } from "@/lib/auth/next-path";
import { createSupabaseServerClient } from "@/lib/auth/supabase-server";
import { BerthError } from "@/lib/core/errors";
import { SignInInput, signIn } from "@/lib/core/services/accounts/sign-in";
import { type AuthFormState, textField } from "../form-state";

const WRONG_CREDENTIALS = "Wrong email or password.";

/** Built-in sign-in: Berth's own users and passwords. */
export async function signInAction(_prev: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const email = textField(formData, "email");
  const parsed = SignInInput.safeParse({ email, password: textField(formData, "password") });
  if (!parsed.success) return { values: { email }, fieldErrors: z.flattenError(parsed.error).fieldErrors };

  const deps = getAppDeps();
  if (deps.supabase) return { values: { email }, error: "This Berth signs in with Supabase Auth." };
  try {
    await startSession(await signIn(deps, parsed.data));
  } catch (err) {
    if (err instanceof BerthError && err.code === "unauthorized") return { values: { email }, error: err.message };
    deps.log.error({ err }, "sign-in failed");
    return { values: { email }, error: "Could not sign in. Please try again." };
  }
  redirect(nextPath(textField(formData, "next")));
}

/**
 * Supabase Auth: signInWithPassword on the server, whose client writes the session cookies into
 * this action's response; the browser's Supabase client reads them from there on. A server action
 * rather than the browser client because the project URL and key are only known at run time, and
 * the form then works like the built-in one (before hydration too).
 */
export async function supabaseSignInAction(_prev: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const email = textField(formData, "email");
  const parsed = SignInInput.safeParse({ email, password: textField(formData, "password") });
  if (!parsed.success) return { values: { email }, fieldErrors: z.flattenError(parsed.error).fieldErrors };

  const { supabase, log } = getAppDeps();
  if (!supabase) redirect("/sign-in");
  const { error } = await (await createSupabaseServerClient(supabase)).auth.signInWithPassword(parsed.data);
  if (error) {
    if (error.code === "invalid_credentials") return { values: { email }, error: WRONG_CREDENTIALS };
    if (error.code === "email_not_confirmed")
      return { values: { email }, error: "Confirm your email address first (see Supabase's email), then sign in." };
    log.error({ err: error }, "Supabase sign-in failed");
    const message = isAuthRetryableFetchError(error)
      ? "Supabase Auth cannot be reached right now. Please try again."
      : "Could not sign in. Please try again.";
    return { values: { email }, error: message };
  }
  redirect(nextPath(textField(formData, "next")));
}
