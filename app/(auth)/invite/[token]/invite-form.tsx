"use client";

import { useActionState } from "react";
import { FormError } from "@/components/auth/form-error";
import { FormField } from "@/components/forms/form-field";
import { Button } from "@/components/ui/button";
import type { AuthFormAction, AuthFormState } from "../../form-state";

const initialState: AuthFormState = {};

export function InviteForm({ action, token, email }: { action: AuthFormAction; token: string; email: string }) {
  const [state, formAction, pending] = useActionState(action, initialState);
  return (
    <form action={formAction} className="grid gap-4">
      <FormError message={state.error} />
      <input type="hidden" name="token" value={token} />
      {/* For password managers: the account the new password belongs to. */}
      <input type="hidden" name="username" autoComplete="username" value={email} />
      <FormField
        id="password"
        name="password"
        type="password"
        label="New password"
        autoComplete="new-password"
        required
        hint="At least 8 characters."
        errors={state.fieldErrors?.password}
      />
      <Button type="submit" className="w-full" disabled={pending}>
        {pending ? "Joining…" : "Join"}
      </Button>
    </form>
  );
}

/** Accepts the invitation as the signed-in user. */
export function JoinForm({ action, token }: { action: AuthFormAction; token: string }) {
  const [state, formAction, pending] = useActionState(action, initialState);
  return (
    <form action={formAction} className="grid gap-4">
      <FormError message={state.error} />
      <input type="hidden" name="token" value={token} />
      <Button type="submit" className="w-full" disabled={pending}>
        {pending ? "Joining…" : "Join"}
      </Button>
    </form>
  );
}
