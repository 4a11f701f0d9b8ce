"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useRef, useState } from "react";
import { toast } from "sonner";
import { updateSettingsAction } from "@/app/(dashboard)/dashboard/settings/actions";
import { useFocusFirstInvalid } from "@/components/forms/focus-first-invalid";
import { FormField } from "@/components/forms/form-field";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { unwrap } from "@/lib/client/action";
import { ApiError } from "@/lib/client/api";

type Settings = { id: string; name: string; default_timeout: number | null };

/** The account's name and the lifetime new connections get unless the install says otherwise. */
export function SettingsForm({ initial, canEdit }: { initial: Settings; canEdit: boolean }) {
  const router = useRouter();
  const form = useRef<HTMLFormElement>(null);
  const [name, setName] = useState(initial.name);
  const [minutes, setMinutes] = useState(initial.default_timeout ? String(initial.default_timeout / 60) : "");
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        updateSettingsAction({
          name,
          default_timeout: minutes.trim() === "" ? null : Math.round(Number(minutes) * 60),
        }),
      ),
    onSuccess: () => {
      toast.success("Settings saved.");
      router.refresh();
    },
  });
  useFocusFirstInvalid(form, save.error);
  const problem = (path: string) =>
    save.error instanceof ApiError ? save.error.fieldErrors.find((d) => d.path === path)?.message : undefined;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!save.isPending) save.mutate();
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>Account</h2>
        </CardTitle>
        <CardDescription>
          Account id: <code>{initial.id}</code>
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form ref={form} onSubmit={submit} className="grid gap-5" noValidate>
          <fieldset disabled={!canEdit} className="grid gap-5">
            <FormField
              id="settings-name"
              label="Account name"
              required
              value={name}
              onChange={(e) => setName(e.target.value)}
              errors={problem("name") ? [problem("name") as string] : undefined}
            />
            <FormField
              id="settings-timeout"
              label="Default lifetime of new connections (minutes)"
              inputMode="numeric"
              hint="Empty: each server's own default. Keep-alive connections are extended before they expire."
              value={minutes}
              onChange={(e) => setMinutes(e.target.value)}
              errors={problem("default_timeout") ? [problem("default_timeout") as string] : undefined}
            />
          </fieldset>
          {save.error && !(save.error instanceof ApiError && save.error.fieldErrors.length) && (
            <p className="text-destructive text-sm" role="alert">
              {save.error.message}
            </p>
          )}
          {canEdit ? (
            <Button type="submit" className="w-fit" aria-disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save"}
            </Button>
          ) : (
            <p className="text-muted-foreground text-sm">Only owners and admins change settings.</p>
          )}
        </form>
      </CardContent>
    </Card>
  );
}
