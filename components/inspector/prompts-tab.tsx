"use client";

import { type FormEvent, useId, useMemo, useState } from "react";
import { Button } from "@/components/ui/button";
import { useGetPromptMutation, usePromptsQuery } from "@/lib/client/connections/inspector-query";
import {
  coerceArguments,
  type FieldError,
  type FormValues,
  fieldId,
  promptArgumentsToFields,
  toFormValues,
} from "@/lib/client/inspector/schema-form";
import type { TabProps } from "./inspector";
import { PromptMessagesView } from "./result-view";
import { SchemaFields } from "./schema-form";

/** The server's prompts with their arguments; gets one with argument values and shows its messages. */
export function PromptsTab({ accountId, connectionId, running, record }: TabProps) {
  const { data: prompts = [], error, isLoading } = usePromptsQuery(accountId, connectionId, running);
  const get = useGetPromptMutation(connectionId);
  const prefix = useId().replace(/:/g, "");
  const [name, setName] = useState<string>();
  const prompt = prompts.find((p) => p.name === name);
  const fields = useMemo(() => promptArgumentsToFields(prompt?.arguments), [prompt]);
  const [values, setValues] = useState<FormValues>({});
  const [errors, setErrors] = useState<FieldError[]>([]);

  const choose = (next: string) => {
    setName(next);
    setValues(toFormValues(promptArgumentsToFields(prompts.find((p) => p.name === next)?.arguments)));
    setErrors([]);
    get.reset();
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name) return;
    const coerced = coerceArguments(fields, values);
    setErrors(coerced.errors);
    const first = coerced.errors[0];
    if (first) {
      document.getElementById(fieldId(prefix, first.path))?.focus();
      return;
    }
    const args = coerced.args as Record<string, string>;
    const started = performance.now();
    const at = new Date();
    try {
      const result = await get.mutateAsync({ name, arguments: args });
      record({ kind: "prompt", name, args, at, ms: Math.round(performance.now() - started), ok: true, result });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      record({
        kind: "prompt",
        name,
        args,
        at,
        ms: Math.round(performance.now() - started),
        ok: false,
        error: message,
      });
    }
  };

  if (isLoading) return <p className="text-muted-foreground text-sm">Loading prompts…</p>;
  return (
    <div className="grid min-w-0 grid-cols-1 gap-4">
      {error && <p className="text-destructive text-sm">{error.message}</p>}
      {prompts.length === 0 ? (
        <p className="text-muted-foreground text-sm">The server lists no prompts.</p>
      ) : (
        <ul
          className="grid max-h-96 min-w-0 grid-cols-1 gap-2 overflow-auto"
          aria-label="Prompts"
          data-testid="prompt-list"
        >
          {prompts.map((p) => {
            const args = promptArgumentsToFields(p.arguments);
            const pname = p.name ?? "";
            return (
              <li key={pname} className="min-w-0">
                <button
                  type="button"
                  aria-pressed={pname === name}
                  onClick={() => choose(pname)}
                  className="hover:border-ring aria-pressed:border-primary aria-pressed:ring-1 aria-pressed:ring-primary focus-visible:ring-ring grid w-full min-w-0 grid-cols-1 gap-1 rounded-md border p-3 text-left outline-none focus-visible:ring-[3px]"
                >
                  <span className="font-mono text-sm font-medium break-all">{pname}</span>
                  {p.description && <span className="text-muted-foreground text-xs break-words">{p.description}</span>}
                  <span className="text-muted-foreground text-xs break-words">
                    {args.length
                      ? `Arguments: ${args.map((a) => `${a.key}${a.required ? " (required)" : ""}`).join(", ")}`
                      : "No arguments"}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {prompt && (
        <form onSubmit={submit} noValidate className="grid min-w-0 grid-cols-1 gap-4">
          <h3 className="text-sm font-semibold break-all">Arguments of {prompt.name}</h3>
          {fields.length ? (
            <SchemaFields fields={fields} values={values} onChange={setValues} errors={errors} prefix={prefix} />
          ) : (
            <p className="text-muted-foreground text-sm">This prompt takes no arguments.</p>
          )}
          <div>
            <Button type="submit" disabled={get.isPending}>
              {get.isPending ? "Getting…" : "Get prompt"}
            </Button>
          </div>
        </form>
      )}
      {get.error && (
        <p role="alert" className="text-destructive text-sm break-words">
          {get.error.message}
        </p>
      )}
      {get.data && <PromptMessagesView result={get.data} />}
    </div>
  );
}
