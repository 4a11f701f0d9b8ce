"use client";

import { useActionState } from "react";
import { FormError } from "@/components/auth/form-error";
import { FormField } from "@/components/forms/form-field";
import { Button } from "@/components/ui/button";
import type { AuthFormAction, AuthFormState } from "../form-state";

const initialState: AuthFormState = {};

export function SetupForm({ action }: { action: AuthFormAction }) {
  const [state, formAction, pending] = useActionState(action, initialState);
  return (
    <form action={formAction} className="grid gap-4">
      <FormError message={state.error} />
      <FormField
        id="name"
        name="name"
        label="Account name"
        placeholder="Acme"
        autoComplete="organization"
        required
        maxLength={200}
        defaultValue={state.values?.name}
        errors={state.fieldErrors?.name}
      />
      <FormField
        id="email"
        name="email"
        type="email"
        label="Your email"
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
        autoComplete="new-password"
        required
        minLength={8}
        errors={state.fieldErrors?.password}
      />
      <p className="text-muted-foreground -mt-2 text-xs">At least 8 characters.</p>
      <Button type="submit" className="w-full" disabled={pending}>
        {pending ? "Creating account…" : "Create account"}
      </Button>
    </form>
  );
}
