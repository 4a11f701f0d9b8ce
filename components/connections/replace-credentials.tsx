"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useRef, useState } from "react";
import { toast } from "sonner";
import { replaceCredentialsAction } from "@/app/(dashboard)/dashboard/connections/actions";
import { credentialFields } from "@/components/catalogue/credential-fields";
import { CredentialInputs } from "@/components/catalogue/credential-inputs";
import { useFocusFirstInvalid } from "@/components/forms/focus-first-invalid";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { unwrap } from "@/lib/client/action";
import { ApiError } from "@/lib/client/api";
import { connectionKeys } from "@/lib/client/connections/keys";
import type { ServerDefinition } from "@/lib/core/schemas/server-definition";

/** New credentials for a connection (write-only, like at install); it redeploys with them. */
export function ReplaceCredentials({
  accountId,
  connectionId,
  definition,
}: {
  accountId: string;
  connectionId: string;
  definition: ServerDefinition;
}) {
  const client = useQueryClient();
  const form = useRef<HTMLFormElement>(null);
  const fields = credentialFields(definition);
  const [values, setValues] = useState<Record<string, string>>({});
  const replace = useMutation({
    mutationFn: () =>
      unwrap(
        replaceCredentialsAction({
          id: connectionId,
          credentials: Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "")),
        }),
      ),
    onSuccess: (conn) => {
      client.setQueryData(connectionKeys.detail(accountId, connectionId), conn);
      void client.invalidateQueries({ queryKey: connectionKeys.events(accountId, connectionId) });
      setValues({});
      toast.success("Credentials replaced: the connection redeploys with them.");
    },
  });
  useFocusFirstInvalid(form, replace.error);
  if (!fields.length) return null;
  const problem = (path: string) =>
    replace.error instanceof ApiError ? replace.error.fieldErrors.find((d) => d.path === path)?.message : undefined;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!replace.isPending) replace.mutate();
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>Credentials</h2>
        </CardTitle>
        <CardDescription>
          Stored encrypted and never shown. New ones replace them all and redeploy the server.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form ref={form} onSubmit={submit} className="grid gap-4" noValidate>
          <CredentialInputs fields={fields} values={values} onChange={setValues} idPrefix="replace" errorOf={problem} />
          {replace.error && !(replace.error instanceof ApiError && replace.error.fieldErrors.length) && (
            <p className="text-destructive text-sm" role="alert">
              {replace.error.message}
            </p>
          )}
          <Button type="submit" variant="outline" className="w-fit" aria-disabled={replace.isPending}>
            {replace.isPending ? "Replacing…" : "Replace and redeploy"}
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
