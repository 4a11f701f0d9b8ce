"use client";

import { type FormEvent, useEffect, useState } from "react";
import { toast } from "sonner";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import {
  type ToolPolicyAnswer,
  useSetToolPolicyMutation,
  useToolPolicyQuery,
} from "@/lib/client/connections/tool-policy-query";
import type { ToolPolicy } from "@/lib/core/schemas/tool-policy";

type Row = { name: string; offered: boolean; rename: string; description: string; approval: boolean };
type Draft = { readOnly: boolean; timeout: string; rows: Row[] };

const HIDDEN_BECAUSE = {
  read_only: "hidden: not marked read-only",
  name_taken: "hidden: its new name is another tool's",
} as const;

/**
 * Which of the server's tools agents see: offered or hidden, renamed, redescribed, held for
 * approval. Admins edit it; members see it. Saved at once for every connected agent.
 */
export function ToolPolicyEditor({
  accountId,
  connectionId,
  running,
  admin,
}: {
  accountId: string;
  connectionId: string;
  running: boolean;
  admin: boolean;
}) {
  const query = useToolPolicyQuery(accountId, connectionId, running);
  const save = useSetToolPolicyMutation(accountId, connectionId);
  const [draft, setDraft] = useState<Draft>();
  useEffect(() => {
    if (query.data) setDraft(draftOf(query.data));
  }, [query.data]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!draft || !query.data || save.isPending) return;
    save.mutate(policyOf(query.data, draft), {
      onSuccess: () => toast.success("Tool policy saved: connected agents were told."),
      onError: (err) => toast.error(`Not saved: ${err.message}`),
    });
  };
  const setRow = (name: string, change: Partial<Row>) =>
    setDraft((d) => d && { ...d, rows: d.rows.map((r) => (r.name === name ? { ...r, ...change } : r)) });
  const verdict = (name: string) => query.data?.tools?.find((t) => t.name === name);

  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>Tools agents see</h2>
        </CardTitle>
        <CardDescription>
          A hidden tool is left out of the tool list and cannot be called. Agents are told of a change at once.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {query.isPending && <p className="text-muted-foreground text-sm">Loading…</p>}
        {query.isError && <p className="text-destructive text-sm">{query.error.message}</p>}
        {query.data && !query.data.tools && (
          <p className="text-muted-foreground text-sm">The server&apos;s tools show here while the connection runs.</p>
        )}
        {draft && query.data?.tools && (
          <form onSubmit={submit} className="grid gap-4 text-sm" aria-label="Tool policy">
            <fieldset disabled={!admin} className="grid gap-4">
              <div className="flex flex-wrap items-center gap-x-6 gap-y-2">
                <label className="flex items-center gap-2">
                  <input
                    type="checkbox"
                    className="accent-primary size-4"
                    checked={draft.readOnly}
                    onChange={(e) => setDraft({ ...draft, readOnly: e.target.checked })}
                  />
                  Read-only tools only
                </label>
                <div className="flex items-center gap-2">
                  <label htmlFor={`approval-wait-${connectionId}`}>Approval wait</label>
                  <Input
                    id={`approval-wait-${connectionId}`}
                    type="number"
                    min={5}
                    max={3600}
                    className="w-24"
                    value={draft.timeout}
                    onChange={(e) => setDraft({ ...draft, timeout: e.target.value })}
                  />
                  <span>seconds</span>
                </div>
              </div>
              <ul className="grid gap-3" data-testid="tool-policy-tools">
                {draft.rows.map((row) => {
                  const v = verdict(row.name);
                  const why = v?.hidden_by === "read_only" || v?.hidden_by === "name_taken" ? v.hidden_by : undefined;
                  return (
                    <li key={row.name} className="grid gap-2 rounded-md border p-3" data-tool={row.name}>
                      <div className="flex flex-wrap items-center gap-x-4 gap-y-1">
                        <label className="flex items-center gap-2 font-medium">
                          <input
                            type="checkbox"
                            className="accent-primary size-4"
                            checked={row.offered}
                            onChange={(e) => setRow(row.name, { offered: e.target.checked })}
                            aria-label={`Offer ${row.name}`}
                          />
                          <span className="break-all font-mono">{row.name}</span>
                        </label>
                        {v?.read_only && <Badge variant="secondary">read-only</Badge>}
                        {why && <span className="text-muted-foreground text-xs">{HIDDEN_BECAUSE[why]}</span>}
                        <label className="ml-auto flex items-center gap-2">
                          <input
                            type="checkbox"
                            className="accent-primary size-4"
                            checked={row.approval}
                            onChange={(e) => setRow(row.name, { approval: e.target.checked })}
                            aria-label={`${row.name} needs approval`}
                          />
                          Needs approval
                        </label>
                      </div>
                      <div className="grid gap-2 sm:grid-cols-[12rem_1fr]">
                        <Input
                          aria-label={`Name agents see for ${row.name}`}
                          placeholder={row.name}
                          value={row.rename}
                          onChange={(e) => setRow(row.name, { rename: e.target.value })}
                        />
                        <Input
                          aria-label={`Description agents see for ${row.name}`}
                          // The verdict's description is the server's while the form does not override it.
                          placeholder={v && !row.description ? v.description.slice(0, 120) : ""}
                          value={row.description}
                          onChange={(e) => setRow(row.name, { description: e.target.value })}
                        />
                      </div>
                    </li>
                  );
                })}
              </ul>
            </fieldset>
            {admin && (
              <Button type="submit" className="w-fit" aria-disabled={save.isPending}>
                {save.isPending ? "Saving…" : "Save tool policy"}
              </Button>
            )}
          </form>
        )}
      </CardContent>
    </Card>
  );
}

/** The form's state from the policy and the server's tools. */
function draftOf(answer: ToolPolicyAnswer): Draft {
  const { policy } = answer;
  return {
    readOnly: policy.read_only,
    timeout: String(policy.approval_timeout_seconds),
    rows: (answer.tools ?? []).map((t) => {
      const o = Object.hasOwn(policy.tools, t.name) ? policy.tools[t.name] : undefined;
      return {
        name: t.name,
        offered: t.hidden_by !== "allow" && t.hidden_by !== "deny",
        rename: o?.name ?? "",
        description: o?.description ?? "",
        approval: o?.approval === true,
      };
    }),
  };
}

/**
 * The policy the form says. Names the form does not show (tools the server no longer lists) keep
 * what the policy said of them; an allowlist stays one, so tools the server adds later stay hidden.
 */
function policyOf(answer: ToolPolicyAnswer, draft: Draft): ToolPolicy {
  const { policy } = answer;
  const shown = new Set(draft.rows.map((r) => r.name));
  const offered = draft.rows.filter((r) => r.offered).map((r) => r.name);
  const notOffered = draft.rows.filter((r) => !r.offered).map((r) => r.name);
  const tools: ToolPolicy["tools"] = Object.fromEntries(Object.entries(policy.tools).filter(([n]) => !shown.has(n)));
  for (const r of draft.rows) {
    const o = {
      ...(r.rename.trim() ? { name: r.rename.trim() } : {}),
      ...(r.description.trim() ? { description: r.description.trim() } : {}),
      ...(r.approval ? { approval: true } : {}),
    };
    if (Object.keys(o).length) tools[r.name] = o;
  }
  const keptDeny = policy.deny.filter((n) => !shown.has(n));
  return {
    allow: policy.allow === null ? null : [...policy.allow.filter((n) => !shown.has(n)), ...offered],
    deny: policy.allow === null ? [...keptDeny, ...notOffered] : keptDeny,
    read_only: draft.readOnly,
    tools,
    approval_timeout_seconds: Number(draft.timeout) || policy.approval_timeout_seconds,
  };
}
