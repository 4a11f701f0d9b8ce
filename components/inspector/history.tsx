"use client";

import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/cn";
import { JsonView, PromptMessagesView, ResourceReadView, ToolResultView } from "./result-view";

export type HistoryEntry = {
  id: number;
  kind: "tool" | "resource" | "prompt";
  /** The tool's or prompt's name, the resource's URI. */
  name: string;
  args: unknown;
  at: Date;
  ms: number;
  ok: boolean;
  result?: unknown;
  error?: string;
};

const time = (d: Date) => d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** This page's calls, newest first; choosing one shows its arguments and result again. */
export function History({ entries }: { entries: HistoryEntry[] }) {
  const [shown, setShown] = useState<number>();
  const entry = entries.find((e) => e.id === shown);
  return (
    <section aria-labelledby="inspector-history-title" className="grid min-w-0 grid-cols-1 gap-3">
      <h3 id="inspector-history-title" className="text-sm font-semibold">
        History
      </h3>
      {entries.length === 0 ? (
        <p className="text-muted-foreground text-sm">Nothing yet: calls, reads and prompts of this page show here.</p>
      ) : (
        <ol className="grid min-w-0 grid-cols-1 gap-1" data-testid="inspector-history">
          {entries.map((e) => (
            <li key={e.id} className="min-w-0">
              <button
                type="button"
                aria-pressed={e.id === shown}
                onClick={() => setShown(e.id === shown ? undefined : e.id)}
                className={cn(
                  "hover:border-ring focus-visible:ring-ring flex w-full min-w-0 flex-wrap items-center gap-x-3 gap-y-1 rounded-md border px-3 py-2 text-left text-sm outline-none focus-visible:ring-[3px]",
                  e.id === shown && "border-primary ring-primary ring-1",
                )}
              >
                <span className="text-muted-foreground w-16 shrink-0 text-xs">{e.kind}</span>
                <span className="min-w-0 flex-1 truncate font-mono text-xs">{e.name}</span>
                <Badge variant={e.ok ? "secondary" : "destructive"}>{e.ok ? "ok" : "error"}</Badge>
                <span className="text-muted-foreground text-xs tabular-nums">{e.ms} ms</span>
                <time dateTime={e.at.toISOString()} className="text-muted-foreground text-xs tabular-nums">
                  {time(e.at)}
                </time>
              </button>
            </li>
          ))}
        </ol>
      )}
      {entry && (
        <div className="grid min-w-0 grid-cols-1 gap-2 rounded-md border p-3" data-testid="history-detail">
          <p className="text-sm font-medium break-all">
            {entry.kind} {entry.name} at {time(entry.at)}
          </p>
          <p className="text-muted-foreground text-xs">Arguments</p>
          <JsonView value={entry.args} />
          <p className="text-muted-foreground text-xs">{entry.error ? "Error" : "Answer"}</p>
          {entry.error ? (
            <p className="text-destructive text-sm">{entry.error}</p>
          ) : entry.kind === "tool" ? (
            <ToolResultView result={entry.result} testId="history-result" />
          ) : entry.kind === "resource" ? (
            <ResourceReadView result={entry.result} />
          ) : (
            <PromptMessagesView result={entry.result} />
          )}
        </div>
      )}
    </section>
  );
}
