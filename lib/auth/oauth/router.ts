import type { IncomingMessage, ServerResponse } from "node:http";
import { metadataHandler } from "@modelcontextprotocol/sdk/server/auth/handlers/metadata.js";
import { createOAuthMetadata, mcpAuthRouter } from "@modelcontextprotocol/sdk/server/auth/router.js";
import express from "express";
import { unstorableText } from "@/lib/core/unstorable-text";
import { isUuid } from "@/lib/db/ids";
import type { BerthOAuthProvider } from "./provider";

/** The paths the authorization server answers (the SDK's endpoints are at the issuer's root). */
const PATHS = ["/authorize", "/token", "/register", "/revoke"];

export const isOAuthPath = (url: string | undefined) => {
  const path = url?.split("?")[0] ?? "";
  return PATHS.includes(path) || path.startsWith("/.well-known/oauth-");
};

/** Where a connection's protected-resource metadata is (RFC 9728), for `WWW-Authenticate`. */
export const resourceMetadataUrl = (publicUrl: string, connectionId: string) =>
  `${publicUrl.replace(/\/$/, "")}/.well-known/oauth-protected-resource/api/mcp/${connectionId}`;

/**
 * The OAuth endpoints as one node:http handler: the MCP SDK's authorization-server router
 * (RFC 8414 metadata, RFC 7591 registration, authorize, token, RFC 7009 revocation), and RFC 9728
 * metadata for each connection's MCP endpoint, which names this Berth as its authorization server.
 */
export function oauthHandler(provider: BerthOAuthProvider, publicUrl: string) {
  const issuerUrl = new URL(publicUrl);
  const metadata = createOAuthMetadata({ provider, issuerUrl });
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  // Parsed here once (the SDK's handlers then find the body parsed) so that text the database
  // cannot store (a NUL, a lone surrogate) is refused as a bad request before any handler stores it.
  app.use(express.urlencoded({ extended: false, limit: "100kb" }), express.json({ limit: "100kb" }));
  app.use((req, res, next) => {
    const problems = unstorableText({ query: req.query, body: req.body });
    if (!problems.length) return next();
    const where = problems[0]?.path.replace(/^(query|body)\.?/, "") || "the request";
    res.status(400).json({ error: "invalid_request", error_description: `${where}: ${problems[0]?.message}` });
  });
  app.use("/.well-known/oauth-protected-resource/api/mcp/:id", (req, res, next) => {
    const id = String(req.params.id);
    if (!isUuid(id)) return res.status(404).json({ error: "not_found" });
    const resource = `${publicUrl.replace(/\/$/, "")}/api/mcp/${id}`;
    metadataHandler({ resource, authorization_servers: [metadata.issuer], resource_name: "Berth MCP connection" })(
      req,
      res,
      next,
    );
  });
  app.use(
    mcpAuthRouter({
      provider,
      issuerUrl,
      resourceName: "Berth",
      // Per client address, in this process: registrations are rows in the database, so fewer.
      clientRegistrationOptions: { rateLimit: { windowMs: 3_600_000, max: 200 } },
      authorizationOptions: { rateLimit: { windowMs: 900_000, max: 600 } },
      tokenOptions: { rateLimit: { windowMs: 900_000, max: 600 } },
    }),
  );
  app.use((_req, res) => res.status(404).json({ error: "not_found" }));
  return (req: IncomingMessage, res: ServerResponse) => app(req, res);
}
