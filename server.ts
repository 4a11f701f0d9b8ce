import http from "node:http";
import type { AddressInfo } from "node:net";
import next from "next";
import { publishAppDeps } from "@/lib/app-deps";
import { isOAuthPath, oauthHandler } from "@/lib/auth/oauth/router";
import { hashPassword } from "@/lib/auth/password";
import { listenForCli } from "@/lib/cli/socket";
import { ConfigError, loadConfig } from "@/lib/config";
import { errorBody } from "@/lib/core/errors";
import { judgeOrigin, originRefused } from "@/lib/core/http/origins";
import { createRouter } from "@/lib/core/http/route";
import { ROUTES } from "@/lib/core/http/routes";
import { countUsers } from "@/lib/db/queries/accounts";
import { sendWebResponse, toWebRequest } from "@/lib/http/node-adapter";
import { tracedRest } from "@/lib/http/traced-rest";
import { maintenanceSettings, startMaintenanceLoop } from "@/lib/jobs/maintenance";
import { recordCrash, recoverAtStart } from "@/lib/jobs/supervisor";
import { apiRateLimit } from "@/lib/limits/api-rate";
import { AuditLog } from "@/lib/mcp/audit-log";
import { McpGateway } from "@/lib/mcp/gateway";
import { openBerth } from "@/lib/node";
import { startTracing } from "@/lib/tracing";

/**
 * Berth's one process: the MCP gateway and the REST API on node:http (neither goes through
 * Next), Next.js for pages and actions, the sandbox runtime and the maintenance loop; SIGTERM
 * stops all.
 */
/** Next.js's own limit of a server action's body (`serverActions.bodySizeLimit`, 1 MB by default). */
const ACTION_BODY_LIMIT = 1024 * 1024;

/**
 * A 413 for an action body over Next's limit, which Next itself answers with a 500. The body is
 * read and dropped first (up to 16 MiB; a larger one ends the connection): a client still sending
 * would otherwise meet a closed connection instead of the answer.
 */
function refuseOversizedAction(req: http.IncomingMessage, res: http.ServerResponse) {
  let seen = 0;
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > 16 * ACTION_BODY_LIMIT) req.destroy();
  });
  req.on("end", () => {
    const body = errorBody("payload_too_large", "A dashboard action takes at most 1 MiB.");
    res.writeHead(413, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
}

async function main() {
  const dev = process.argv.includes("--dev");
  const config = loadConfig();
  const tracing = await startTracing(config.tracing);
  const berth = await openBerth(config);
  const { deps, runtime } = berth;
  publishAppDeps(deps);
  runtime.onCrash = (report) =>
    recordCrash(deps, config.restartPolicy, report).catch((err) => deps.log.error({ err }, "could not record a crash"));

  const app = next({ dev, dir: import.meta.dirname, hostname: "localhost", port: config.port });
  const handle = app.getRequestHandler();
  await app.prepare();

  const recovery = await recoverAtStart(deps, runtime);
  const gateway = new McpGateway(deps, runtime, {
    maxConcurrentPerConnection: config.mcpMaxConcurrency,
    sessionIdleMs: config.mcpSessionIdleMs,
    maxSessionsPerConnection: config.mcpMaxSessionsPerConnection,
    maxSessionsPerAccount: config.mcpMaxSessionsPerAccount,
    bodyBytesPerSecond: config.mcpBodyBytesPerSecond,
    origins: config.origins,
    traced: tracing !== undefined,
  });
  const audit = new AuditLog(
    deps.db,
    (err) => deps.log.error({ err }, "could not write tool-call events"),
    berth.metrics,
  );
  runtime.onToolCall = (record, serverSlug) => audit.record(record, serverSlug);
  runtime.onDeleted = (connectionId) => gateway.endSessionsOf(connectionId);
  const limitApi = apiRateLimit(config.apiRequestsPerSecond);
  const rest = createRouter(ROUTES, { origins: config.origins });
  const serveRest = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const answer = await rest(toWebRequest(req, config.publicUrl), deps);
    // Answered before its body was read (refused: too large, no auth): the rest of the body is
    // still on the connection, so it cannot carry another request. Close it after this answer.
    if (!req.complete) res.setHeader("connection", "close");
    await sendWebResponse(res, answer, req.method === "HEAD");
  };
  const serveApi = tracing ? tracedRest(serveRest) : serveRest;
  const oauth = oauthHandler(deps.oauth, config.publicUrl);
  const server = http.createServer((req, res) => {
    if (McpGateway.matches(req.url)) void gateway.handle(req, res);
    else if (isOAuthPath(req.url)) oauth(req, res);
    else if (req.url === "/api" || req.url?.startsWith("/api/") || req.url?.startsWith("/api?")) {
      if (!limitApi(req, res)) serveApi(req, res).catch((err) => res.destroy(err));
    } else if (!["none", "own"].includes(judgeOrigin(config.origins, req.headers.origin))) {
      // Pages and server actions are Berth's own: a page elsewhere, or one that rebinds its DNS
      // name to this host, cannot post a form or an action here (first-run setup, say).
      const refused = originRefused(req.headers.origin as string);
      res
        .writeHead(403, { "content-type": "application/json" })
        .end(JSON.stringify(errorBody(refused.code, refused.message)));
    } else if (req.headers["next-action"] && Number(req.headers["content-length"] ?? 0) > ACTION_BODY_LIMIT) {
      refuseOversizedAction(req, res);
    } else void handle(req, res);
  });
  // Idle keep-alive connections stay open longer than clients' and load balancers' own idle
  // timeouts (60 s is common): else a request sent on a connection Berth is just closing meets a
  // reset (Node's default is 5 s; Playwright's request pool met it).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, resolve);
  });
  const cliServer = config.databaseUrl
    ? undefined
    : await listenForCli(
        { db: deps.db, cipher: deps.cipher, hashPassword, onApiKeyRevoked: deps.onApiKeyRevoked },
        config.dataDir,
      );
  const stopMaintenance = startMaintenanceLoop(
    { deps, runtime, ...maintenanceSettings(config), metrics: berth.metrics },
    config.maintenanceIntervalMs,
  );
  recovery.redeploys.catch((err) => deps.log.error({ err }, "recovering connections failed"));

  const port = (server.address() as AddressInfo).port;
  const url = config.publicUrl.replace(`:${config.port}`, `:${port}`);
  for (const w of berth.warnings) console.warn(`warning: ${w}`);
  console.log(
    `Berth is running at ${url}  (database: ${berth.db.kind}, sandboxes: ${runtime.provider}${runtime.isolated ? "" : ", NOT isolated"})`,
  );
  const { protections } = runtime.describe() as { protections?: string[] };
  if (protections?.length)
    console.log(`Sandbox protections active on this host:\n${protections.map((p) => `  - ${p}`).join("\n")}`);
  if (deps.supabase)
    console.log(
      `Sign in at ${url}/sign-in with Supabase Auth (${deps.supabase.url}); give a Supabase user access with: npx berth members add --account <account_id> --user-id <user_id> --role owner`,
    );
  else
    console.log(
      (await countUsers(deps.db))
        ? `Sign in at ${url}/sign-in`
        : `First time: open ${url}/setup to create your account, or run: npx berth accounts create --name <name> --owner-email <email>`,
    );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping Berth…`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    server.close();
    server.closeAllConnections();
    cliServer?.close();
    await stopMaintenance();
    await gateway.close();
    await audit.flush();
    await berth.close();
    await tracing?.shutdown(); // exports the spans still batched
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
