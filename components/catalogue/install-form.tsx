"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { ApiError, api } from "@/lib/client/api";
import type { ServerDefinition } from "@/lib/core/schemas/server-definition";
import { credentialFields } from "./credential-fields";

/** Installs a server for the account: a name, its credentials, then test (dry run) or install. */
export function InstallForm({ accountId, definition }: { accountId: string; definition: ServerDefinition }) {
  const router = useRouter();
  const fields = credentialFields(definition);
  const [values, setValues] = useState<Record<string, string>>({});
  const [name, setName] = useState(definition.title);

  const body = (dryRun: boolean) => ({
    account_id: accountId,
    server_id: definition.slug,
    name,
    // Empty fields are left out, so a missing required one gets the API's own message.
    credentials: Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "")),
    dry_run: dryRun,
  });
  const send = (dryRun: boolean) => () => api("POST /api/mcp-connections/install", { body: body(dryRun) });
  const test = useMutation({ mutationFn: send(true) });
  const install = useMutation({
    mutationFn: send(false),
    onSuccess: (answer) => {
      if ("id" in answer) router.push(`/dashboard/connections/${answer.id}`);
    },
  });
  const tools = test.data && "tools" in test.data ? test.data.tools : undefined;
  const error = install.error ?? test.error;
  const fieldError = (path: string) =>
    error instanceof ApiError ? error.fieldErrors.find((d) => d.path === path)?.message : undefined;
  const busy = test.isPending || install.isPending;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    test.reset();
    install.mutate();
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-xl">
          <h1>Install {definition.title}</h1>
        </CardTitle>
        <CardDescription>{definition.description}</CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={submit} className="grid gap-5" noValidate>
          <div className="grid gap-2">
            <Label htmlFor="install-name">Name</Label>
            <Input id="install-name" value={name} onChange={(e) => setName(e.target.value)} />
            {fieldError("name") && <p className="text-destructive text-sm">{fieldError("name")}</p>}
          </div>
          {fields.map((f) => (
            <div key={f.key} className="grid gap-2">
              <Label htmlFor={`credential-${f.key}`}>
                {f.title}
                {f.required ? "" : " (optional)"}
              </Label>
              <Input
                id={`credential-${f.key}`}
                type={f.secret ? "password" : "text"}
                autoComplete="off"
                value={values[f.key] ?? ""}
                onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
              />
              {f.description && <p className="text-muted-foreground text-sm">{f.description}</p>}
              {fieldError(`credentials.${f.key}`) && (
                <p className="text-destructive text-sm" data-testid={`error-${f.key}`}>
                  {fieldError(`credentials.${f.key}`)}
                </p>
              )}
            </div>
          ))}
          {fields.length > 0 && (
            <p className="text-muted-foreground text-sm">
              Credentials are encrypted at rest and never shown again, not even to you.
            </p>
          )}
          {error && (
            <div className="text-destructive grid gap-1 text-sm" role="alert">
              <p>{error.message}</p>
              {error instanceof ApiError && error.stderr && (
                <pre
                  className="bg-muted text-foreground overflow-auto rounded p-2 text-xs"
                  data-testid="dry-run-stderr"
                >
                  {error.stderr}
                </pre>
              )}
            </div>
          )}
          {tools && (
            <p className="text-sm" data-testid="dry-run-result">
              It starts. {tools.length} tools: {tools.map((t) => t.name).join(", ")}.
            </p>
          )}
          <div className="flex gap-3">
            <Button type="submit" disabled={busy}>
              {install.isPending ? "Installing…" : "Install"}
            </Button>
            <Button
              type="button"
              variant="outline"
              disabled={busy}
              onClick={() => {
                install.reset();
                test.mutate();
              }}
            >
              {test.isPending ? "Testing…" : "Test first"}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
