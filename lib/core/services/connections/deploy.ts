import { trace } from "@opentelemetry/api";
import type { Ctx } from "@/lib/core/context";
import { persistently } from "@/lib/core/retry";
import { DeployError, httpEndpointOf, isDeployError } from "@/lib/core/runtime";
import { inSpan } from "@/lib/core/tracing";
import { type ConnectionRow, getConnection } from "@/lib/db/queries/connections";
import { getServer } from "@/lib/db/queries/servers";
import { serverEnvOf } from "./credentials";
import { markFailed, markRunning } from "./status";

/**
 * Brings a connection that is `deploying` to `running` or `failed`. The one place a sandbox is
 * started for a connection: install, restart, credential changes and recovery all end here.
 * If the connection left `deploying` meanwhile (deleted, say), the new sandbox is stopped.
 */
export function deployConnection(ctx: Ctx, conn: ConnectionRow): Promise<ConnectionRow> {
  const attributes = { "berth.connection.id": conn.id, "berth.provider": conn.provider };
  return inSpan("berth.deploy", attributes, async (span) => {
    const started = performance.now();
    const after = await deployNow(ctx, conn);
    span.setAttribute("berth.connection.status", after.status);
    // Only deploys that ended here: one that lost its row to a delete meanwhile is neither.
    if (after.status === "running" || after.status === "failed")
      ctx.observe?.deployed((performance.now() - started) / 1000, after.provider, after.status);
    return after;
  });
}

async function deployNow(ctx: Ctx, conn: ConnectionRow): Promise<ConnectionRow> {
  const key = { accountId: ctx.accountId, id: conn.id };
  try {
    const server = await persistently(() => getServer(ctx.db, { idOrSlug: conn.server_id, includeRemoved: true }));
    if (!server) throw new DeployError("The server definition no longer exists.", "");
    trace.getActiveSpan()?.setAttribute("berth.server.slug", server.slug);
    const credentials = await ctx.cipher.decrypt(
      { keyId: conn.credentials_key_id, ciphertext: conn.credentials_ciphertext },
      conn.id,
    );
    const { sandboxId, startedAt, reattached } = await ctx.runtime.deploy({
      connectionId: conn.id,
      accountId: conn.account_id,
      startCommand: server.start_command,
      env: { ...server.env, ...serverEnvOf(credentials) },
      network: server.network,
      http: httpEndpointOf(server),
      timeoutSeconds: conn.timeout_seconds,
      reattachSandboxId: conn.sandbox_id ?? undefined,
      serverSlug: server.slug,
      toolPolicy: conn.tool_policy ?? undefined,
    });
    const running = await persistently(() =>
      ctx.db.transaction((tx) =>
        markRunning(tx, key, {
          sandbox_id: sandboxId,
          host: ctx.host,
          started_at: startedAt,
          // A sandbox taken over keeps its expiry (extended or not); a new one counts from its start.
          expires_at: reattached ? conn.expires_at : new Date(startedAt.getTime() + conn.timeout_seconds * 1000),
        }),
      ),
    );
    // A policy set while the server started is applied now (the row read is the latest).
    if (running) ctx.runtime.setToolPolicy(conn.id, running.tool_policy ?? undefined);
    if (!running) {
      const now = await persistently(() => getConnection(ctx.db, key));
      // A commit whose answer the dropped session lost: the row is ours already.
      if (now?.status === "running" && now.sandbox_id === sandboxId) return now;
      await ctx.runtime.stop(conn.id, sandboxId);
      return now ?? conn;
    }
    return running;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const stderr = isDeployError(err) ? err.stderrTail : "";
    if (!isDeployError(err)) ctx.log.error({ err, connectionId: conn.id }, "deploy failed unexpectedly");
    await ctx.runtime.stop(conn.id, null).catch(() => {});
    try {
      return (await markDeployFailed(ctx, conn.id, { message, stderr })) ?? (await getConnection(ctx.db, key)) ?? conn;
    } catch (dbErr) {
      // The database stayed away: the row stays `deploying`, no sandbox behind it, and
      // maintenance deploys it again once it is old (lockStuckDeploys). Nothing is thrown:
      // this often runs after the install has answered, with no one left to catch it.
      ctx.log.error({ err: dbErr, connectionId: conn.id }, "deploy outcome not recorded");
      return conn;
    }
  }
}

/** Waits for a deploy at most `ms`; the deploy itself goes on either way. */
export async function deployWithin(ctx: Ctx, conn: ConnectionRow, ms: number): Promise<ConnectionRow> {
  const deploying = deployConnection(ctx, conn);
  let timer: unknown;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  const done = await Promise.race([deploying, late]).finally(() => clearTimeout(timer as number));
  return done ?? conn;
}

/**
 * A deploy (install, restart, recovery) that ended without a server: `failed`, with the reason
 * as `last_error` and a `failed` event; only while it is still `deploying` (a delete meanwhile
 * wins). `sandboxId`: a sandbox that could not be stopped, kept on the row so that the next
 * restart or delete stops it (else none). Answers the updated row, or undefined when it had left
 * `deploying`.
 */
export async function markDeployFailed(
  ctx: Ctx,
  connectionId: string,
  { message, stderr = "", sandboxId = null }: { message: string; stderr?: string; sandboxId?: string | null },
) {
  const key = { accountId: ctx.accountId, id: connectionId };
  return persistently(() =>
    ctx.db.transaction((tx) => markFailed(tx, key, { from: ["deploying"], error: message, stderr, sandboxId })),
  );
}
