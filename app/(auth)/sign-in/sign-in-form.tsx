"use client";

import { useActionState } from "react";
import { FormError } from "@/components/auth/form-error";
import { FormField } from "@/components/forms/form-field";
import { Button } from "@/components/ui/button";
import type { AuthFormAction, AuthFormState } from "../form-state";

const initialState: AuthFormState = {};

/** `next`: the page to open after signing in (checked again by the action). */
export function SignInForm({ action, next }: { action: AuthFormAction; next?: string }) {
  const [state, formAction, pending] = useActionState(action, initialState);
  return (
    <form action={formAction} className="grid gap-4">
      {next && <input type="hidden" name="next" value={next} />}
      <FormError message={state.error} />
      <FormField
        id="email"
        name="email"
        type="email"
        label="Email"
        autoComplete="email"
        required
        defaultValue={state.values?.email}
        errors={state.fieldErrors?.email}
      />
      <FormField
        id="password"
        name="password"
        type="password"
        label="Password"
        autoComplete="current-password"
        required
        errors={state.fieldErrors?.password}
      />
      <Button type="submit" className="w-full" disabled={pending}>
        {pending ? "Signing in…" : "Sign in"}
      </Button>
    </form>
  );
}
