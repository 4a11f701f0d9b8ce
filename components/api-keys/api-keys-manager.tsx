"use client";

import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useRef, useState } from "react";
import { toast } from "sonner";
import { createApiKeyAction, revokeApiKeyAction } from "@/app/(dashboard)/dashboard/api-keys/actions";
import { formatUtc } from "@/components/connections/format";
import { FormField } from "@/components/forms/form-field";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CopyField } from "@/components/ui/copy-button";
import { unwrap } from "@/lib/client/action";

export type ApiKeyRow = {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  scope: "admin" | "mcp";
};

const SCOPES = [
  { scope: "mcp", label: "MCP endpoints only (an agent's key)" },
  { scope: "admin", label: "The REST API too, as an admin" },
] as const;

const when = (iso: string | null) => (iso ? formatUtc(iso) : "never");

/** Create (shown once, with copy), list and revoke the account's API keys. */
export function ApiKeysManager({ initialKeys }: { initialKeys: ApiKeyRow[] }) {
  const [keys, setKeys] = useState(initialKeys);
  const [name, setName] = useState("");
  const [scope, setScope] = useState<"admin" | "mcp">("mcp");
  const [created, setCreated] = useState<{ name: string; key: string }>();
  const nameInput = useRef<HTMLInputElement>(null);
  const create = useMutation({
    mutationFn: () => unwrap(createApiKeyAction({ name, scope })),
    onSuccess: ({ key, ...row }) => {
      setCreated({ name: row.name, key });
      setKeys((all) => [{ last_used_at: null, revoked_at: null, ...row }, ...all]);
      setName("");
    },
    onError: () => nameInput.current?.focus(),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(revokeApiKeyAction({ id })),
    onSuccess: (row) => {
      setKeys((all) => all.map((k) => (k.id === row.id ? { ...k, revoked_at: row.revoked_at } : k)));
      toast.success(`Revoked “${row.name}”: it stops working now.`);
    },
    onError: (err) => toast.error(`Not revoked: ${err.message}`),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!create.isPending) create.mutate();
  };
  const confirmRevoke = (k: ApiKeyRow) => {
    if (window.confirm(`Revoke “${k.name}”? Agents using it are refused from now on.`)) revoke.mutate(k.id);
  };

  return (
    <div className="grid min-w-0 gap-6">
      <Card>
        <CardHeader>
          <CardTitle>
            <h2>Create a key</h2>
          </CardTitle>
          <CardDescription>Name it after who uses it, so you know what to revoke.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <form onSubmit={submit} className="flex flex-wrap items-end gap-3" noValidate>
            <div className="min-w-56 flex-1">
              <FormField
                ref={nameInput}
                id="key-name"
                label="Name"
                required
                value={name}
                onChange={(e) => setName(e.target.value)}
                errors={create.error ? [create.error.message] : undefined}
              />
            </div>
            <fieldset className="grid gap-1.5 text-sm">
              <legend className="mb-1.5 text-sm font-medium">Reaches</legend>
              {SCOPES.map((option) => (
                <label key={option.scope} className="flex items-center gap-2">
                  <input
                    type="radio"
                    name="key-scope"
                    className="accent-primary"
                    checked={scope === option.scope}
                    onChange={() => setScope(option.scope)}
                  />
                  {option.label}
                </label>
              ))}
            </fieldset>
            <Button type="submit" aria-disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create key"}
            </Button>
          </form>
          {created && (
            <div className="grid gap-2 rounded-md border border-emerald-600/40 p-3" role="status" data-testid="new-key">
              <p className="text-sm font-medium">“{created.name}” created. Copy it now: Berth cannot show it again.</p>
              <CopyField value={created.key} label="Copy the new API key" testId="new-key-value" />
            </div>
          )}
        </CardContent>
      </Card>

      {keys.length === 0 ? (
        <p className="text-muted-foreground rounded-lg border border-dashed p-8 text-center text-sm">
          No API keys yet.
        </p>
      ) : (
        <ul className="grid gap-3" aria-label="API keys" data-testid="api-keys">
          {keys.map((k) => (
            <li key={k.id} className="bg-card flex flex-wrap items-center justify-between gap-3 rounded-lg border p-4">
              <div className="grid min-w-0 gap-0.5">
                <span className="truncate font-medium">{k.name}</span>
                <span className="text-muted-foreground font-mono text-xs">
                  {k.prefix}… · {k.scope === "mcp" ? "MCP endpoints only" : "REST API and MCP"}
                </span>
                <span className="text-muted-foreground text-xs">
                  Created {when(k.created_at)} · last used {when(k.last_used_at)}
                </span>
              </div>
              {k.revoked_at ? (
                <span className="text-muted-foreground text-sm">Revoked {when(k.revoked_at)}</span>
              ) : (
                <Button
                  size="sm"
                  variant="outline"
                  className="text-destructive"
                  aria-label={`Revoke ${k.name}`}
                  onClick={() => confirmRevoke(k)}
                >
                  Revoke
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
