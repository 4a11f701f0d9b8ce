"use client";

import { type FormEvent, useId, useMemo, useState } from "react";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { type ToolInfo, useCallToolMutation, useToolsQuery } from "@/lib/client/connections/connections-query";
import {
  coerceArguments,
  type FieldError,
  type FormValues,
  fieldId,
  parseArgumentsJson,
  schemaToFields,
  toFormValues,
} from "@/lib/client/inspector/schema-form";
import type { TabProps } from "./inspector";
import { ToolResultView } from "./result-view";
import { FIELD, SchemaFields } from "./schema-form";

/** Chooses a tool, fills its arguments (a form from its inputSchema, or JSON) and calls it. */
export function ToolsTab({ accountId, connectionId, running, record }: TabProps) {
  const { data: tools = [], error, isLoading } = useToolsQuery(accountId, connectionId, running);
  const call = useCallToolMutation(accountId, connectionId);
  const prefix = useId().replace(/:/g, "");
  const [name, setName] = useState("");
  const tool = tools.find((t) => t.name === name);
  const mapping = useMemo(() => schemaToFields(tool?.inputSchema), [tool]);
  const fields = mapping.ok ? mapping.fields : [];
  const [json, setJson] = useState(false);
  const [values, setValues] = useState<FormValues>({});
  const [text, setText] = useState("{}");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [jsonError, setJsonError] = useState<string>();
  const jsonId = `${prefix}-json`;
  const editJson = json || !mapping.ok;

  const choose = (next: string) => {
    const t = tools.find((x) => x.name === next);
    const m = schemaToFields(t?.inputSchema);
    setName(next);
    setJson(!m.ok);
    setValues(m.ok ? toFormValues(m.fields) : {});
    setText(m.ok ? JSON.stringify(coerceArguments(m.fields, toFormValues(m.fields)).args, null, 2) : skeleton(t));
    setErrors([]);
    setJsonError(undefined);
    call.reset();
  };

  const toggleJson = () => {
    if (!json) {
      setText(JSON.stringify(coerceArguments(fields, values).args, null, 2));
      setJsonError(undefined);
      setJson(true);
      return;
    }
    const parsed = parseArgumentsJson(text);
    if ("error" in parsed) {
      setJsonError(`${parsed.error} Fix it to go back to the form.`);
      document.getElementById(jsonId)?.focus();
      return;
    }
    setValues(toFormValues(fields, parsed.args));
    setErrors([]);
    setJson(false);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let args: Record<string, unknown>;
    if (editJson) {
      const parsed = parseArgumentsJson(text);
      if ("error" in parsed) {
        setJsonError(parsed.error);
        document.getElementById(jsonId)?.focus();
        return;
      }
      setJsonError(undefined);
      args = parsed.args;
    } else {
      const coerced = coerceArguments(fields, values);
      setErrors(coerced.errors);
      const first = coerced.errors[0];
      if (first) {
        document.getElementById(fieldId(prefix, first.path))?.focus();
        return;
      }
      args = coerced.args;
    }
    const started = performance.now();
    const at = new Date();
    try {
      const result = await call.mutateAsync({ name, arguments: args });
      record({
        kind: "tool",
        name,
        args,
        at,
        ms: Math.round(performance.now() - started),
        ok: !result.isError,
        result,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      record({ kind: "tool", name, args, at, ms: Math.round(performance.now() - started), ok: false, error: message });
    }
  };

  if (isLoading) return <p className="text-muted-foreground text-sm">Loading tools…</p>;
  return (
    <form onSubmit={submit} noValidate className="grid min-w-0 grid-cols-1 gap-4">
      {error && <p className="text-destructive text-sm">{error.message}</p>}
      <div className="grid grid-cols-1 gap-2">
        <Label htmlFor="inspector-tool">Tool</Label>
        <select id="inspector-tool" className={FIELD} value={name} onChange={(e) => choose(e.target.value)}>
          <option value="">Choose one of {tools.length} tools</option>
          {tools.map((t) => (
            <option key={t.name} value={t.name}>
              {t.name}
            </option>
          ))}
        </select>
        {tool?.description && <p className="text-muted-foreground text-sm break-words">{tool.description}</p>}
      </div>
      {tool && (
        <div className="grid min-w-0 grid-cols-1 gap-3">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <h3 className="text-sm font-semibold">Arguments</h3>
            {mapping.ok && (
              <Button type="button" variant="outline" size="sm" aria-pressed={json} onClick={toggleJson}>
                Edit as JSON
              </Button>
            )}
          </div>
          {!mapping.ok && (
            <p className="text-muted-foreground text-sm">{mapping.reason} Edit the arguments as JSON instead.</p>
          )}
          {editJson ? (
            <div className="grid grid-cols-1 gap-2">
              <Label htmlFor={jsonId}>Arguments (JSON)</Label>
              <textarea
                id={jsonId}
                className={`${FIELD} min-h-28 font-mono`}
                value={text}
                onChange={(e) => setText(e.target.value)}
                spellCheck={false}
                aria-invalid={jsonError ? true : undefined}
                aria-describedby={jsonError ? `${jsonId}-error` : undefined}
              />
              {jsonError && (
                <p id={`${jsonId}-error`} className="text-destructive text-sm">
                  {jsonError}
                </p>
              )}
            </div>
          ) : fields.length ? (
            <SchemaFields fields={fields} values={values} onChange={setValues} errors={errors} prefix={prefix} />
          ) : (
            <p className="text-muted-foreground text-sm">This tool takes no arguments.</p>
          )}
        </div>
      )}
      <div>
        <Button type="submit" disabled={!name || call.isPending}>
          {call.isPending ? "Calling…" : "Call"}
        </Button>
      </div>
      {call.error && (
        <p role="alert" className="text-destructive text-sm">
          {call.error.message}
        </p>
      )}
      {call.data && <ToolResultView result={call.data} />}
    </form>
  );
}

/** `{}` with the tool's required properties as empty values, for the JSON editor. */
function skeleton(tool: ToolInfo | undefined) {
  const schema = tool?.inputSchema as
    | { required?: string[]; properties?: Record<string, { type?: string }> }
    | undefined;
  const empty = { string: "", number: 0, integer: 0, boolean: false, array: [], object: {} } as Record<string, unknown>;
  const args = Object.fromEntries(
    (schema?.required ?? []).map((key) => [key, empty[schema?.properties?.[key]?.type ?? "string"] ?? ""]),
  );
  return JSON.stringify(args, null, 2);
}
