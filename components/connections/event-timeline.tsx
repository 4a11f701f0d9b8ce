import { CircleCheck, CircleX, LoaderCircle } from "lucide-react";
import type { ConnectionEvent } from "@/lib/client/connections/connections-query";
import type { Connection } from "@/lib/core/schemas/connection";
import { formatUtc } from "./format";

/** The timeline, newest first. */
export function EventTimeline({ events }: { events: ConnectionEvent[] }) {
  if (!events.length) return <p className="text-muted-foreground text-sm">No events yet.</p>;
  return (
    <ol className="grid gap-1 text-sm" data-testid="event-timeline">
      {events.map((e) => (
        <li key={e.id} className="flex min-w-0 flex-wrap gap-x-3">
          <time dateTime={e.created_at} className="text-muted-foreground tabular-nums">
            {formatUtc(e.created_at, true)}
          </time>
          <span className="font-medium">{e.type}</span>
          <span className="text-muted-foreground min-w-0 break-all">{summarize(e.data)}</span>
        </li>
      ))}
    </ol>
  );
}

/** A short line from an event's data (`tool_call`: tool, outcome, duration; `tool_approval`: tool, outcome, who). */
function summarize(data: Record<string, unknown>) {
  if (typeof data.tool === "string" && typeof data.duration_ms === "number")
    return `${data.tool} · ${data.outcome} · ${data.duration_ms} ms`;
  if (typeof data.tool === "string") return `${data.tool} · ${data.outcome} · by ${data.by}`;
  return Object.entries(data)
    .filter(([k, v]) => k !== "stderr" && (typeof v === "string" || typeof v === "number"))
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}

type Step = { label: string; state: "done" | "active" | "failed" };

/**
 * While a connection deploys, the steps of its latest deploy; when it failed, also the server's
 * error and the tail of its stderr (credentials scrubbed by Berth before they were stored).
 */
export function DeployProgress({ conn, events }: { conn: Connection; events: ConnectionEvent[] }) {
  if (conn.status !== "deploying" && conn.status !== "failed") return null;
  const latestFailure = events.find((e) => e.type === "failed");
  const stderr = typeof latestFailure?.data.stderr === "string" ? latestFailure.data.stderr : "";
  const failed = conn.status === "failed";
  const steps: Step[] = [
    { label: "Stored, credentials encrypted", state: "done" },
    { label: "Sandbox created, server starting", state: failed ? "done" : "active" },
    {
      label: failed ? "The server did not start" : "Server answers MCP initialize",
      state: failed ? "failed" : "active",
    },
  ];
  return (
    <div className="grid gap-3" data-testid="deploy-progress">
      <ol className="grid gap-1.5">
        {steps.map((s) => (
          <li key={s.label} className="flex items-center gap-2">
            {s.state === "done" && (
              <CircleCheck className="size-4 text-emerald-600 dark:text-emerald-400" aria-hidden />
            )}
            {s.state === "active" && <LoaderCircle className="size-4 animate-spin" aria-hidden />}
            {s.state === "failed" && <CircleX className="text-destructive size-4" aria-hidden />}
            <span>{s.label}</span>
            <span className="sr-only">({s.state})</span>
          </li>
        ))}
      </ol>
      {failed && conn.last_error && (
        <div role="alert" className="grid gap-2">
          <p className="text-destructive whitespace-pre-wrap break-words">{conn.last_error.split("\n")[0]}</p>
          {stderr && (
            <pre
              // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
              tabIndex={0}
              className="bg-muted max-h-60 overflow-auto rounded p-2 font-mono text-xs whitespace-pre-wrap"
              data-testid="deploy-stderr"
            >
              {stderr}
            </pre>
          )}
        </div>
      )}
    </div>
  );
}
