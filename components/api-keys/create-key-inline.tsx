"use client";

import { useMutation } from "@tanstack/react-query";
import { KeyRound } from "lucide-react";
import { type FormEvent, useState } from "react";
import { toast } from "sonner";
import { createApiKeyAction } from "@/app/(dashboard)/dashboard/api-keys/actions";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { unwrap } from "@/lib/client/action";

/** "Create a key for this": a named API key made in place, handed to the caller once. */
export function CreateKeyInline({ defaultName, onCreated }: { defaultName: string; onCreated: (key: string) => void }) {
  const [name, setName] = useState(defaultName);
  // A key made here goes into an agent's configuration: it reaches MCP endpoints only.
  const create = useMutation({ mutationFn: () => unwrap(createApiKeyAction({ name, scope: "mcp" })) });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (create.isPending) return;
    create.mutate(undefined, {
      onSuccess: (key) => {
        toast.success(`Key “${key.name}” created. Copy it now: it is not shown again.`);
        onCreated(key.key);
      },
    });
  };
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-2" noValidate>
      <div className="grid min-w-48 flex-1 gap-1">
        <Label htmlFor="inline-key-name" className="text-xs">
          New agent key's name (MCP endpoints only)
        </Label>
        <Input
          id="inline-key-name"
          className="h-8"
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-invalid={create.error ? true : undefined}
          aria-describedby={create.error ? "inline-key-error" : undefined}
        />
      </div>
      <Button type="submit" size="sm" variant="outline" aria-disabled={create.isPending}>
        <KeyRound aria-hidden />
        {create.isPending ? "Creating…" : "Create a key for this"}
      </Button>
      {create.error && (
        <p id="inline-key-error" className="text-destructive w-full text-sm">
          {create.error.message}
        </p>
      )}
    </form>
  );
}
