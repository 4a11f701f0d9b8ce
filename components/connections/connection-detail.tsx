"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { toast } from "sonner";
import { Inspector } from "@/components/inspector/inspector";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CopyField } from "@/components/ui/copy-button";
import {
  useConnectionQuery,
  useDeleteMutation,
  useEventsQuery,
  useKeepAliveMutation,
  useRestartMutation,
} from "@/lib/client/connections/connections-query";
import type { Connection } from "@/lib/core/schemas/connection";
import type { ServerDefinition } from "@/lib/core/schemas/server-definition";
import type { Role } from "@/lib/db/queries/accounts";
import { ConnectAgent } from "./connect-agent";
import { ConnectProvider } from "./connect-provider";
import { ConnectionStatusBadge } from "./connection-status-badge";
import { Countdown } from "./countdown";
import { DeployProgress, EventTimeline } from "./event-timeline";
import { ExtendControls } from "./extend-controls";
import { OAuthGrants } from "./oauth-grants";
import { PendingApprovals } from "./pending-approvals";
import { ReplaceCredentials } from "./replace-credentials";
import { ToolPolicyEditor } from "./tool-policy-editor";

/** One connection: live status with its controls, the inspector, agent configs and the timeline. */
export function ConnectionDetail({
  accountId,
  role,
  initialData,
  definition,
}: {
  accountId: string;
  role: Role;
  initialData: Connection;
  /** The connection's server definition (its credential fields). */
  definition: ServerDefinition;
}) {
  const { data: conn } = useConnectionQuery({ accountId, initialData });
  const { data: events = [] } = useEventsQuery(accountId, conn.id);
  const router = useRouter();
  const restart = useRestartMutation(accountId, conn.id);
  const keepAlive = useKeepAliveMutation(accountId, conn.id);
  // The switch shows a click at once: the cache's optimistic change comes a tick later (after
  // in-flight reads are cancelled), and meanwhile React would put the controlled box back.
  const [keepAliveClicked, setKeepAliveClicked] = useState<boolean>();
  const keepAliveShown = keepAliveClicked ?? conn.keep_alive;
  const remove = useDeleteMutation(accountId, conn.id);
  const admin = role !== "member";
  const running = conn.status === "running";
  const confirmDelete = () => {
    if (remove.isPending) return;
    if (window.confirm(`Delete “${conn.name}”? Its sandbox stops and its MCP URL stops working.`))
      remove.mutate(undefined, {
        onSuccess: () => {
          toast.success(`Deleted “${conn.name}”.`);
          router.push("/dashboard");
        },
        onError: (err) => toast.error(`Not deleted: ${err.message}`),
      });
  };
  const restartNow = () => {
    if (restart.isPending) return;
    restart.mutate(undefined, {
      onSuccess: () => toast.success("Restarting in a new sandbox."),
      onError: (err) => toast.error(`Not restarted: ${err.message}`),
    });
  };

  return (
    <div className="grid min-w-0 gap-6">
      <ConnectProvider conn={conn} definition={definition} admin={admin} />
      <Card>
        <CardHeader className="gap-3">
          <CardTitle className="flex flex-wrap items-center gap-3 text-xl">
            <h1 className="break-all">{conn.name}</h1>
            <span data-testid="connection-status" aria-live="polite">
              <ConnectionStatusBadge status={conn.status} />
            </span>
          </CardTitle>
          <CardDescription className="flex flex-wrap items-center gap-x-2 gap-y-1">
            <span>{conn.server_slug}</span>
            <span aria-hidden>·</span>
            {running || conn.status === "deploying" ? (
              <Countdown expiresAt={conn.expires_at} className="tabular-nums" />
            ) : conn.status === "sleeping" ? (
              <span>idle: wakes on the next MCP request</span>
            ) : (
              <span>{conn.status}</span>
            )}
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-5 text-sm">
          <DeployProgress conn={conn} events={events} />
          <div className="flex flex-wrap items-end justify-between gap-4">
            <ExtendControls conn={conn} accountId={accountId} />
            <div className="flex flex-wrap gap-2">
              {conn.status !== "auth_required" && (
                <Button size="sm" variant="outline" onClick={restartNow} aria-disabled={restart.isPending}>
                  {restart.isPending ? "Restarting…" : "Restart"}
                </Button>
              )}
              {admin && (
                <Button
                  size="sm"
                  variant="outline"
                  className="text-destructive"
                  onClick={confirmDelete}
                  aria-disabled={remove.isPending}
                >
                  {remove.isPending ? "Deleting…" : "Delete"}
                </Button>
              )}
            </div>
          </div>
          <label className="flex w-fit items-center gap-2">
            <input
              type="checkbox"
              role="switch"
              className="accent-primary size-4"
              checked={keepAliveShown}
              aria-checked={keepAliveShown}
              aria-describedby="keep-alive-help"
              onChange={(e) => {
                setKeepAliveClicked(e.target.checked);
                keepAlive.mutate(e.target.checked, {
                  onSuccess: (c) => toast.success(c.keep_alive ? "Keep-alive on." : "Keep-alive off."),
                  onError: (err) => toast.error(err.message),
                  onSettled: () => setKeepAliveClicked(undefined),
                });
              }}
            />
            Keep alive
          </label>
          <p id="keep-alive-help" className="text-muted-foreground -mt-3 text-xs">
            Extended automatically before it expires, and brought back when an agent calls after expiry or a crash.
          </p>
          <div className="grid gap-1">
            <span className="text-muted-foreground text-xs font-medium">MCP URL</span>
            <CopyField value={conn.mcp_url} label="Copy MCP URL" testId="mcp-url" />
          </div>
          <dl className="grid grid-cols-3 gap-3" data-testid="tool-call-stats">
            <Stat label="Tool calls" value={String(conn.tool_calls.count)} />
            <Stat label="Errors" value={String(conn.tool_calls.errors)} />
            <Stat label="Median" value={conn.tool_calls.p50_ms === null ? "—" : `${conn.tool_calls.p50_ms} ms`} />
          </dl>
        </CardContent>
      </Card>

      <PendingApprovals accountId={accountId} connectionId={conn.id} admin={admin} />
      <Inspector accountId={accountId} connectionId={conn.id} running={running} />
      <ToolPolicyEditor accountId={accountId} connectionId={conn.id} running={running} admin={admin} />
      <ConnectAgent accountId={accountId} connectionId={conn.id} canCreateKeys={admin} />
      <OAuthGrants accountId={accountId} connectionId={conn.id} admin={admin} />
      {admin && <ReplaceCredentials accountId={accountId} connectionId={conn.id} definition={definition} />}
      <Card>
        <CardHeader>
          <CardTitle>Events</CardTitle>
          <CardDescription>
            Newest first. Tool calls show their tool, outcome and duration, never arguments.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <EventTimeline events={events} />
        </CardContent>
      </Card>
    </div>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="bg-muted/50 rounded-md border p-3">
      <dt className="text-muted-foreground text-xs">{label}</dt>
      <dd className="text-lg font-semibold tabular-nums">{value}</dd>
    </div>
  );
}
