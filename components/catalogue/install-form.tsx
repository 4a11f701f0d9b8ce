"use client";

import { useMutation } from "@tanstack/react-query";
import { CircleCheck, TriangleAlert } from "lucide-react";
import { useRouter } from "next/navigation";
import { type FormEvent, useRef, useState } from "react";
import { toast } from "sonner";
import { authorizeAction, installAction, testCredentialsAction } from "@/app/(dashboard)/dashboard/connections/actions";
import { useFocusFirstInvalid } from "@/components/forms/focus-first-invalid";
import { FormField } from "@/components/forms/form-field";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { unwrap } from "@/lib/client/action";
import { ApiError } from "@/lib/client/api";
import type { Connection } from "@/lib/core/schemas/connection";
import type { ServerDefinition } from "@/lib/core/schemas/server-definition";
import { credentialFields } from "./credential-fields";
import { CredentialInputs } from "./credential-inputs";

type CheckDetails = { check?: { tool?: string; ok?: boolean; message?: string } };

/**
 * Installs a server for the account: a name, its credentials, then test (dry run) or install. A
 * server that connects through OAuth, where this Berth has an app at its provider, offers
 * "Connect with …" first: it installs with the other credentials and sends the browser to the
 * provider, which sends it back to the new connection's page.
 */
export function InstallForm({ definition }: { definition: ServerDefinition }) {
  const router = useRouter();
  const form = useRef<HTMLFormElement>(null);
  const oauth = definition.oauth?.configured ? definition.oauth : undefined;
  const [pasting, setPasting] = useState(!oauth);
  const viaOAuth = Boolean(oauth) && !pasting;
  const fields = credentialFields(definition, { viaOAuth });
  const [values, setValues] = useState<Record<string, string>>({});
  const [name, setName] = useState(definition.title);
  const [keepAlive, setKeepAlive] = useState(true);

  const input = () => ({
    server_id: definition.slug,
    name,
    keep_alive: keepAlive,
    auth: viaOAuth ? ("oauth" as const) : ("credentials" as const),
    // Empty fields are left out, so a missing required one gets the service's own message; a
    // field only the pasted form shows is not sent when connecting.
    credentials: Object.fromEntries(
      Object.entries(values).filter(([k, v]) => v !== "" && fields.some((f) => f.key === k)),
    ),
  });
  const test = useMutation({ mutationFn: () => unwrap(testCredentialsAction(input())) });
  const install = useMutation({
    mutationFn: async (): Promise<{ conn: Connection; authorization_url?: string }> => {
      const conn = await unwrap(installAction(input()));
      if (conn.status !== "auth_required") return { conn };
      return { conn, ...(await unwrap(authorizeAction({ id: conn.id }))) };
    },
    onSuccess: ({ conn, authorization_url }) => {
      if (authorization_url) return window.location.assign(authorization_url);
      toast.success(conn.status === "failed" ? `“${conn.name}” did not start.` : `Installed “${conn.name}”.`);
      router.push(`/dashboard/connections/${conn.id}`);
    },
  });
  const error = install.error ?? test.error;
  useFocusFirstInvalid(form, error);
  const fieldError = (path: string) =>
    error instanceof ApiError ? error.fieldErrors.find((d) => d.path === path)?.message : undefined;
  const check = error instanceof ApiError ? (error.details as CheckDetails | undefined)?.check : undefined;
  const busy = test.isPending || install.isPending;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
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
        <form ref={form} onSubmit={submit} className="grid gap-5" noValidate>
          <FormField
            id="install-name"
            label="Name"
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            errors={fieldError("name") ? [fieldError("name") as string] : undefined}
          />
          <CredentialInputs
            fields={fields}
            values={values}
            onChange={setValues}
            idPrefix="credential"
            errorOf={fieldError}
          />
          {definition.oauth && !definition.oauth.configured && (
            <p className="text-muted-foreground text-sm" data-testid="oauth-unavailable">
              Connect with {definition.oauth.provider} is not set up on this Berth: its operator registers it with{" "}
              {definition.oauth.provider} first. Paste a token meanwhile.
            </p>
          )}
          {fields.length > 0 && !viaOAuth && (
            <p className="text-muted-foreground text-sm">
              Credentials are encrypted at rest and never shown again, not even to you.
            </p>
          )}
          <label className="flex w-fit items-center gap-2 text-sm">
            <input
              type="checkbox"
              className="accent-primary size-4"
              checked={keepAlive}
              onChange={(e) => setKeepAlive(e.target.checked)}
            />
            Keep alive (extend automatically while it runs)
          </label>
          {error && (
            <div className="text-destructive grid gap-2 text-sm" role="alert" data-testid="install-error">
              <p className="flex items-start gap-2 break-words">
                <TriangleAlert className="mt-0.5 size-4 shrink-0" aria-hidden />
                <span>
                  {check?.ok === false && check.tool
                    ? `Credential check (${check.tool}) failed: ${check.message ?? error.message}`
                    : error.message}
                </span>
              </p>
              {error instanceof ApiError && error.stderr && (
                <pre
                  // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
                  tabIndex={0}
                  className="bg-muted text-foreground max-h-60 overflow-auto rounded p-2 text-xs whitespace-pre-wrap"
                  data-testid="dry-run-stderr"
                >
                  {error.stderr}
                </pre>
              )}
            </div>
          )}
          {test.data && <DryRunOutcome result={test.data} />}
          {viaOAuth && oauth ? (
            <div className="flex flex-wrap items-center gap-3">
              <Button type="submit" aria-disabled={busy}>
                {install.isPending ? `Opening ${oauth.provider}…` : `Connect with ${oauth.provider}`}
              </Button>
              <Button type="button" variant="link" className="px-0" onClick={() => setPasting(true)}>
                Paste a token instead
              </Button>
            </div>
          ) : (
            <div className="flex flex-wrap gap-3">
              <Button type="submit" aria-disabled={busy}>
                {install.isPending ? "Installing…" : "Install"}
              </Button>
              <Button
                type="button"
                variant="outline"
                aria-disabled={busy}
                onClick={() => {
                  if (busy) return;
                  install.reset();
                  test.mutate();
                }}
              >
                {test.isPending ? "Testing…" : "Test connection"}
              </Button>
              {oauth && (
                <Button type="button" variant="link" className="px-0" onClick={() => setPasting(false)}>
                  Connect with {oauth.provider} instead
                </Button>
              )}
            </div>
          )}
          {viaOAuth && oauth && (
            <p className="text-muted-foreground text-sm">
              {`${oauth.provider} asks you to sign in and allow ${oauth.scopes.length ? oauth.scopes.join(", ") : "access"}. `}
              Berth keeps the token encrypted and refreshes it.
            </p>
          )}
        </form>
      </CardContent>
    </Card>
  );
}

type DryRun = { tools: { name: string }[]; checked?: boolean; check?: { tool: string } };

/** What a successful test showed: the tools, and whether the credentials were really tried. */
function DryRunOutcome({ result }: { result: DryRun }) {
  return (
    <div className="grid gap-1 text-sm" data-testid="dry-run-result" role="status">
      <p className="flex items-start gap-2">
        <CircleCheck className="mt-0.5 size-4 shrink-0 text-emerald-600 dark:text-emerald-400" aria-hidden />
        <span>
          {result.checked && result.check ? `Credentials checked: ${result.check.tool} succeeded. ` : "It starts. "}
          {result.tools.length} tools: {result.tools.map((t) => t.name).join(", ")}.
        </span>
      </p>
      {!result.checked && (
        <p className="text-muted-foreground">
          The credentials were not checked: this server declares no check, so a wrong token shows only at the first tool
          call.
        </p>
      )}
    </div>
  );
}
