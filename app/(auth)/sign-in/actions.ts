"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { getAppDeps } from "@/lib/app-deps";
import { startSession } from "@/lib/auth/current-user";
import { BerthError } from "@/lib/core/errors";
import { SignInInput, signIn } from "@/lib/core/services/accounts/sign-in";
import { type AuthFormState, textField } from "../form-state";

export async function signInAction(_prev: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const email = textField(formData, "email");
  const parsed = SignInInput.safeParse({ email, password: textField(formData, "password") });
  if (!parsed.success) return { values: { email }, fieldErrors: z.flattenError(parsed.error).fieldErrors };

  const deps = getAppDeps();
  try {
    await startSession(await signIn(deps, parsed.data));
  } catch (err) {
    if (err instanceof BerthError && err.code === "unauthorized") return { values: { email }, error: err.message };
    deps.log.error({ err }, "sign-in failed");
    return { values: { email }, error: "Could not sign in. Please try again." };
  }
  redirect("/dashboard");
}
