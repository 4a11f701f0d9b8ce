"use client";

import { useRouter } from "next/navigation";
import { Button } from "@/components/ui/button";
import { Card, CardAction, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import {
  useClientConfigQuery,
  useConnectionQuery,
  useDeleteMutation,
  useEventsQuery,
  useExtendMutation,
  useRestartMutation,
} from "@/lib/client/connections/connections-query";
import type { Connection } from "@/lib/core/schemas/connection";
import { ConnectionStatusBadge } from "./connection-status-badge";
import { formatUtc } from "./format";
import { ToolInspector } from "./tool-inspector";

/** One connection: its status with an extend button, its tool inspector and its event timeline. */
export function ConnectionDetail({ accountId, initialData }: { accountId: string; initialData: Connection }) {
  const { data: conn } = useConnectionQuery({ accountId, initialData });
  const router = useRouter();
  const extend = useExtendMutation(accountId, conn.id);
  const restart = useRestartMutation(accountId, conn.id);
  const remove = useDeleteMutation(accountId, conn.id);
  const running = conn.status === "running";
  const busy = extend.isPending || restart.isPending || remove.isPending;
  const error = extend.error ?? restart.error ?? remove.error;
  const confirmDelete = () => {
    if (window.confirm(`Delete “${conn.name}”? Its sandbox stops and its MCP URL stops working.`))
      remove.mutate(undefined, { onSuccess: () => router.push("/dashboard") });
  };

  return (
    <div className="grid gap-6">
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-3 text-xl">
            <h1>{conn.name}</h1>
            <span data-testid="connection-status">
              <ConnectionStatusBadge status={conn.status} />
            </span>
          </CardTitle>
          <CardDescription>
            {conn.server_slug} · expires{" "}
            <time dateTime={conn.expires_at} data-testid="connection-expires">
              {formatUtc(conn.expires_at, true)}
            </time>
            {conn.keep_alive ? " · kept alive" : ""}
          </CardDescription>
          <CardAction className="flex gap-2">
            <Button onClick={() => extend.mutate()} disabled={!running || busy}>
              {extend.isPending ? "Extending…" : "Extend"}
            </Button>
            <Button variant="outline" onClick={() => restart.mutate()} disabled={busy}>
              {restart.isPending ? "Restarting…" : "Restart"}
            </Button>
            <Button variant="outline" className="text-destructive" onClick={confirmDelete} disabled={busy}>
              Delete
            </Button>
          </CardAction>
        </CardHeader>
        <CardContent className="grid gap-2 text-sm">
          {error && <p className="text-destructive">{error.message}</p>}
          {conn.last_error && <p className="text-destructive">{conn.last_error}</p>}
          <div>
            MCP URL: <code className="bg-muted rounded px-1.5 py-0.5 font-mono text-xs">{conn.mcp_url}</code>
          </div>
          <div className="text-muted-foreground">
            {conn.tool_calls.count} tool {conn.tool_calls.count === 1 ? "call" : "calls"}, {conn.tool_calls.errors}{" "}
            failed
            {conn.tool_calls.p50_ms === null ? "" : `, median ${conn.tool_calls.p50_ms} ms`}
          </div>
        </CardContent>
      </Card>

      <ToolInspector accountId={accountId} connectionId={conn.id} running={running} />
      <ConnectAgent accountId={accountId} connectionId={conn.id} />
      <EventTimeline accountId={accountId} connectionId={conn.id} />
    </div>
  );
}

function ConnectAgent({ accountId, connectionId }: { accountId: string; connectionId: string }) {
  const { data: config, error } = useClientConfigQuery(accountId, connectionId);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Connect an agent</CardTitle>
        <CardDescription>
          For Cursor, Claude Code and other clients that take an <code>mcpServers</code> entry. Replace the key
          placeholder with one of this account's API keys (<code>npx berth api-keys create</code>).
        </CardDescription>
      </CardHeader>
      <CardContent>
        {error && <p className="text-destructive text-sm">{error.message}</p>}
        {config && (
          <pre data-testid="client-config" className="bg-muted overflow-auto rounded-md p-3 text-xs">
            {JSON.stringify({ mcpServers: config.mcpServers }, null, 2)}
          </pre>
        )}
      </CardContent>
    </Card>
  );
}

function EventTimeline({ accountId, connectionId }: { accountId: string; connectionId: string }) {
  const { data: events = [], error } = useEventsQuery(accountId, connectionId);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Events</CardTitle>
        <CardDescription>
          Newest first. Tool calls show their tool, outcome and duration, never arguments.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {error && <p className="text-destructive text-sm">{error.message}</p>}
        <ol className="grid gap-1 text-sm" data-testid="event-timeline">
          {events.map((e) => (
            <li key={e.id} className="flex gap-3">
              <time dateTime={e.created_at} className="text-muted-foreground tabular-nums">
                {formatUtc(e.created_at, true)}
              </time>
              <span className="font-medium">{e.type}</span>
              <span className="text-muted-foreground truncate">{summarize(e.data)}</span>
            </li>
          ))}
        </ol>
      </CardContent>
    </Card>
  );
}

/** A short line from an event's data (`tool_call`: tool, outcome, duration). */
function summarize(data: Record<string, unknown>) {
  if (typeof data.tool === "string") return `${data.tool} · ${data.outcome} · ${data.duration_ms} ms`;
  return Object.entries(data)
    .filter(([, v]) => typeof v === "string" || typeof v === "number")
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}
