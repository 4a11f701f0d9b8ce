"use client";

import { useMutation } from "@tanstack/react-query";
import { TriangleAlert } from "lucide-react";
import { useRouter } from "next/navigation";
import { type FormEvent, useRef, useState } from "react";
import { toast } from "sonner";
import {
  createDefinitionAction,
  removeDefinitionAction,
  updateDefinitionAction,
} from "@/app/(dashboard)/dashboard/catalogue/actions";
import { useFocusFirstInvalid } from "@/components/forms/focus-first-invalid";
import { FormField, TextareaField } from "@/components/forms/form-field";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { unwrap } from "@/lib/client/action";
import { ApiError } from "@/lib/client/api";
import { type Draft, draftOf, inputOf } from "@/lib/client/catalogue/definition-draft";
import type { ServerDefinition, ServerDefinitionInput } from "@/lib/core/schemas/server-definition";
import { credentialFields } from "./credential-fields";
import { CredentialInputs } from "./credential-inputs";

/**
 * An operator's form for one catalogue definition: the fields of `npx berth servers add`'s JSON,
 * its credential schema previewed as the install form it generates. Berth's own validation (the
 * same zod schema as the CLI's) decides; its messages are shown next to the fields they name.
 */
export function DefinitionEditor({ initial, usedBy }: { initial?: ServerDefinition; usedBy?: number }) {
  const router = useRouter();
  const form = useRef<HTMLFormElement>(null);
  const editing = initial !== undefined;
  const [draft, setDraft] = useState<Draft>(() => draftOf(initial));
  const [slugTouched, setSlugTouched] = useState(editing);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  const save = useMutation({
    mutationFn: (input: ServerDefinitionInput) =>
      unwrap(
        editing ? updateDefinitionAction({ slug: initial.slug, definition: input }) : createDefinitionAction(input),
      ),
    onSuccess: (saved) => {
      toast.success(editing ? `Saved “${saved.title}”.` : `Added “${saved.title}” to the catalogue.`);
      router.push("/dashboard/catalogue");
      router.refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(removeDefinitionAction({ slug: draft.slug })),
    onSuccess: ({ connections }) => {
      toast.success(
        connections
          ? `Removed “${draft.title}”. ${connections} connection(s) still run it until deleted.`
          : `Removed “${draft.title}” from the catalogue.`,
      );
      router.push("/dashboard/catalogue");
      router.refresh();
    },
  });
  const error = save.error ?? remove.error;
  useFocusFirstInvalid(form, error ?? (Object.keys(localErrors).length ? localErrors : undefined));

  // The service names fields by their JSON path; `definition.` when editing (the action's input).
  const serverErrors = error instanceof ApiError ? error.fieldErrors : [];
  const problem = (field: string) => {
    if (localErrors[field]) return [localErrors[field]];
    const found = serverErrors.find((d) => {
      const path = d.path.replace(/^definition\./, "");
      return path === field || path.startsWith(`${field}.`);
    });
    if (!found) return undefined;
    const path = found.path.replace(/^definition\./, "");
    return [path === field ? found.message : `${path.slice(field.length + 1)}: ${found.message}`];
  };
  const unplaced = error && !FIELDS.some((f) => problem(f)) ? error.message : undefined;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (save.isPending) return;
    const { input, errors } = inputOf(draft);
    setLocalErrors(errors);
    save.reset();
    if (input) save.mutate(input);
  };

  const confirmRemove = () => {
    const running = usedBy ? ` ${usedBy} connection(s) run it: they keep running until deleted.` : "";
    if (window.confirm(`Remove “${draft.title}” from the catalogue? Nobody can install it any more.${running}`))
      remove.mutate();
  };

  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)] lg:items-start">
      <Card>
        <CardHeader>
          <CardTitle className="text-xl">
            <h1>{editing ? `Edit ${initial.title}` : "Add a server"}</h1>
          </CardTitle>
          <CardDescription>
            {editing
              ? "New installs get the change at once; running connections at their next start."
              : "A server every account of this Berth can install, in its own sandbox."}
          </CardDescription>
        </CardHeader>
        <CardContent>
          <form ref={form} onSubmit={submit} className="grid gap-5" noValidate>
            <FormField
              id="definition-title"
              label="Title"
              required
              value={draft.title}
              onChange={(e) => {
                const title = e.target.value;
                setDraft((d) => ({ ...d, title, slug: slugTouched ? d.slug : slugOf(title) }));
              }}
              errors={problem("title")}
            />
            <FormField
              id="definition-slug"
              label="Slug"
              required
              readOnly={editing}
              className="font-mono"
              hint={
                editing
                  ? "Installs and connections name it by its slug, so it stays."
                  : "Lowercase letters, digits and dashes; how the API names it."
              }
              value={draft.slug}
              onChange={(e) => {
                setSlugTouched(true);
                set("slug", e.target.value);
              }}
              errors={problem("slug")}
            />
            <TextareaField
              id="definition-description"
              label="Description"
              value={draft.description}
              onChange={(e) => set("description", e.target.value)}
              errors={problem("description")}
            />
            <FormField
              id="definition-command"
              label="Start command"
              required
              className="font-mono"
              placeholder="npx -y @scope/server@1.2.3"
              hint="Run in the sandbox. Pin a version: an unpinned package changes under your users."
              value={draft.start_command}
              onChange={(e) => set("start_command", e.target.value)}
              errors={problem("start_command")}
            />
            <div className="grid gap-5 sm:grid-cols-2">
              <FormField
                id="definition-version"
                label="Version"
                value={draft.version}
                onChange={(e) => set("version", e.target.value)}
                errors={problem("version")}
              />
              <FormField
                id="definition-timeout"
                label="Default lifetime (minutes)"
                inputMode="numeric"
                value={draft.minutes}
                onChange={(e) => set("minutes", e.target.value)}
                errors={problem("default_timeout")}
              />
            </div>
            <fieldset className="grid gap-3">
              <legend className="mb-2 text-sm font-medium">How it speaks MCP</legend>
              {(["stdio", "streamable-http"] as const).map((t) => (
                <label key={t} className="flex w-fit items-center gap-2 text-sm">
                  <input
                    type="radio"
                    name="transport"
                    className="accent-primary size-4"
                    checked={draft.transport === t}
                    onChange={() => set("transport", t)}
                  />
                  {t === "stdio" ? "Standard input and output" : "Streamable HTTP, served inside the sandbox"}
                </label>
              ))}
            </fieldset>
            {draft.transport === "streamable-http" && (
              <div className="grid gap-5 sm:grid-cols-2">
                <FormField
                  id="definition-port"
                  label="Port"
                  required
                  inputMode="numeric"
                  value={draft.port}
                  onChange={(e) => set("port", e.target.value)}
                  errors={problem("port")}
                />
                <FormField
                  id="definition-path"
                  label="Path"
                  placeholder="/mcp"
                  className="font-mono"
                  value={draft.path}
                  onChange={(e) => set("path", e.target.value)}
                  errors={problem("path")}
                />
              </div>
            )}
            <label className="flex w-fit items-center gap-2 text-sm">
              <input
                type="checkbox"
                className="accent-primary size-4"
                checked={draft.network}
                onChange={(e) => set("network", e.target.checked)}
              />
              Needs the internet (public addresses only)
            </label>
            <TextareaField
              id="definition-schema"
              label="Credential schema (JSON Schema)"
              className="font-mono text-xs"
              spellCheck={false}
              rows={8}
              hint={
                <>
                  An object schema: each property becomes the environment variable of that name, e.g.{" "}
                  <code>{`{"type":"object","properties":{"API_TOKEN":{"title":"API token","writeOnly":true}},"required":["API_TOKEN"]}`}</code>
                </>
              }
              value={draft.credential_schema}
              onChange={(e) => set("credential_schema", e.target.value)}
              errors={problem("credential_schema")}
            />
            <TextareaField
              id="definition-env"
              label="Environment (not secret)"
              className="font-mono text-xs"
              spellCheck={false}
              placeholder="LOG_LEVEL=info"
              hint="One NAME=value a line; {home} is the sandbox's home directory."
              value={draft.env}
              onChange={(e) => set("env", e.target.value)}
              errors={problem("env")}
            />
            <TextareaField
              id="definition-tools"
              label="Tools"
              className="max-h-48 font-mono text-xs"
              spellCheck={false}
              hint="The names of its tools, one a line, shown on its catalogue card."
              value={draft.tools}
              onChange={(e) => set("tools", e.target.value)}
              errors={problem("tools")}
            />
            <TextareaField
              id="definition-check"
              label="Credential check (JSON)"
              className="font-mono text-xs"
              spellCheck={false}
              placeholder={`{"tool": "whoami", "arguments": {}}`}
              hint="A cheap tool call “Test connection” makes, so bad credentials fail before install. Empty: none."
              value={draft.check}
              onChange={(e) => set("check", e.target.value)}
              errors={problem("check")}
            />
            <TextareaField
              id="definition-oauth"
              label="Connect through OAuth (JSON)"
              className="font-mono text-xs"
              spellCheck={false}
              placeholder={`{"provider": "GitHub", "authorization_url": "…", "token_url": "…", "scopes": ["repo"], "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "access_token"}}`}
              hint="Offers “Connect with …” instead of pasting the credentials `env` names; Berth refreshes the token. Empty: pasted only."
              value={draft.oauth}
              onChange={(e) => set("oauth", e.target.value)}
              errors={problem("oauth")}
            />
            {unplaced && (
              <p className="text-destructive flex items-start gap-2 text-sm break-words" role="alert">
                <TriangleAlert className="mt-0.5 size-4 shrink-0" aria-hidden />
                {unplaced}
              </p>
            )}
            <div className="flex flex-wrap gap-3">
              <Button type="submit" aria-disabled={save.isPending}>
                {save.isPending ? "Saving…" : editing ? "Save changes" : "Add to catalogue"}
              </Button>
              {editing && (
                <Button
                  type="button"
                  variant="destructive"
                  aria-disabled={remove.isPending}
                  onClick={() => !remove.isPending && confirmRemove()}
                >
                  {remove.isPending ? "Removing…" : "Remove from catalogue"}
                </Button>
              )}
            </div>
          </form>
        </CardContent>
      </Card>
      <InstallFormPreview schemaText={draft.credential_schema} />
    </div>
  );
}

/** The fields a service message can be placed at, in the form's order (for the unplaced rest). */
const FIELDS = [
  "title",
  "slug",
  "description",
  "start_command",
  "version",
  "default_timeout",
  "port",
  "path",
  "credential_schema",
  "env",
  "tools",
  "check",
  "oauth",
];

const slugOf = (title: string) =>
  title
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63);

/** The install form the credential schema generates, as an installing admin will see it. */
function InstallFormPreview({ schemaText }: { schemaText: string }) {
  const [values, setValues] = useState<Record<string, string>>({});
  let body: React.ReactNode;
  try {
    const schema = JSON.parse(schemaText || "{}");
    const fields = credentialFields({ credential_schema: schema } as ServerDefinition);
    body = fields.length ? (
      <CredentialInputs
        fields={fields}
        values={values}
        onChange={setValues}
        idPrefix="preview"
        errorOf={() => undefined}
      />
    ) : (
      <p className="text-muted-foreground text-sm">No credentials: it installs with a name alone.</p>
    );
  } catch (err) {
    body = <p className="text-muted-foreground text-sm">Not JSON yet: {(err as Error).message}</p>;
  }
  return (
    <Card aria-labelledby="preview-title" data-testid="install-preview">
      <CardHeader>
        <CardTitle>
          <h2 id="preview-title">Install form preview</h2>
        </CardTitle>
        <CardDescription>The credentials an admin fills in to install it, besides a name.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">{body}</CardContent>
    </Card>
  );
}
