"use client";

import { type FormEvent, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { type ToolInfo, useCallToolMutation, useToolsQuery } from "@/lib/client/connections/connections-query";

const FIELD = "border-input bg-background w-full rounded-md border px-3 py-2 text-sm shadow-xs";

/** Lists a running server's tools and calls one with JSON arguments, as an agent would. */
export function ToolInspector({
  accountId,
  connectionId,
  running,
}: {
  accountId: string;
  connectionId: string;
  running: boolean;
}) {
  const { data: tools = [], error, isLoading } = useToolsQuery(accountId, connectionId, running);
  const call = useCallToolMutation(accountId, connectionId);
  const [name, setName] = useState("");
  const [args, setArgs] = useState("{}");
  const [argsError, setArgsError] = useState<string>();
  const tool = tools.find((t) => t.name === name);

  const choose = (next: string) => {
    setName(next);
    setArgs(skeleton(tools.find((t) => t.name === next)));
    setArgsError(undefined);
    call.reset();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch {
      return setArgsError("The arguments are not valid JSON.");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      return setArgsError("The arguments must be a JSON object.");
    setArgsError(undefined);
    call.mutate({ name, arguments: parsed as Record<string, unknown> });
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>Tool inspector</CardTitle>
        <CardDescription>
          {running ? "Calls go through the connection's server and are audited." : "The connection is not running."}
        </CardDescription>
      </CardHeader>
      {running && (
        <CardContent>
          {error && <p className="text-destructive text-sm">{error.message}</p>}
          {isLoading ? (
            <p className="text-muted-foreground text-sm">Loading tools…</p>
          ) : (
            <form onSubmit={submit} className="grid gap-4">
              <div className="grid gap-2">
                <Label htmlFor="inspector-tool">Tool</Label>
                <select id="inspector-tool" className={FIELD} value={name} onChange={(e) => choose(e.target.value)}>
                  <option value="">Choose one of {tools.length} tools</option>
                  {tools.map((t) => (
                    <option key={t.name} value={t.name}>
                      {t.name}
                    </option>
                  ))}
                </select>
                {tool?.description && <p className="text-muted-foreground text-sm">{tool.description}</p>}
              </div>
              <div className="grid gap-2">
                <Label htmlFor="inspector-args">Arguments (JSON)</Label>
                <textarea
                  id="inspector-args"
                  className={`${FIELD} min-h-28 font-mono`}
                  value={args}
                  onChange={(e) => setArgs(e.target.value)}
                  spellCheck={false}
                />
                {argsError && <p className="text-destructive text-sm">{argsError}</p>}
              </div>
              <div>
                <Button type="submit" disabled={!name || call.isPending}>
                  {call.isPending ? "Calling…" : "Call"}
                </Button>
              </div>
              {call.error && <p className="text-destructive text-sm">{call.error.message}</p>}
              {call.data && (
                <div className="grid gap-2">
                  <p className={call.data.isError ? "text-destructive text-sm" : "text-muted-foreground text-sm"}>
                    {call.data.isError ? "The tool reported an error:" : "Result:"}
                  </p>
                  <pre data-testid="tool-result" className="bg-muted max-h-96 overflow-auto rounded-md p-3 text-xs">
                    {JSON.stringify(call.data.content, null, 2)}
                  </pre>
                </div>
              )}
            </form>
          )}
        </CardContent>
      )}
    </Card>
  );
}

/** `{}` with the tool's required properties as empty values, to fill in. */
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
