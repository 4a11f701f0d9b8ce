import { OAuth2Server } from "oauth2-mock-server";

/**
 * An OAuth provider on this machine (oauth2-mock-server) standing in for GitHub or Slack in
 * "Connect with …" tests: it records what it issued and what Berth spent, and answers as told.
 */
export class LocalOAuthProvider {
  readonly server = new OAuth2Server();
  /** Access and refresh tokens issued, in order, and the refresh tokens Berth spent. */
  readonly accessTokens: string[] = [];
  readonly refreshTokens: string[] = [];
  readonly spent: string[] = [];
  readonly grants: string[] = [];
  /** Seconds the next tokens live. */
  lifetime = 3600;
  /** Refuse refreshes (the grant was revoked at the provider). */
  refuse = false;
  /** Refresh attempts answered 503 (the provider is down) before it answers again. */
  down = 0;

  /** Starts it on `port` (any free one by default); its issuer URL. */
  async start(port = 0) {
    await this.server.issuer.keys.generate("RS256");
    await this.server.start(port, "127.0.0.1");
    this.server.service.on("beforeResponse", (response, req) => {
      const body = (req as unknown as { body: Record<string, string> }).body;
      this.grants.push(body.grant_type as string);
      if (body.grant_type === "refresh_token") {
        this.spent.push(body.refresh_token as string);
        if (this.down > 0) {
          this.down--;
          response.statusCode = 503;
          response.body = { error: "temporarily_unavailable" };
          return;
        }
        if (this.refuse) {
          response.statusCode = 400;
          response.body = { error: "invalid_grant", error_description: "The app's authorization was revoked." };
          return;
        }
      }
      response.body.expires_in = this.lifetime;
      this.accessTokens.push(response.body.access_token as string);
      this.refreshTokens.push(response.body.refresh_token as string);
    });
    return this.server.issuer.url as string;
  }

  stop() {
    return this.server.stop();
  }
}

/**
 * A definition declared as the catalogue's GitHub is, against `issuer` (a LocalOAuthProvider),
 * running the MCP reference server: its `get-env` tool shows the token it was started with.
 * Berth's app at the provider is `BERTH_OAUTH_GITHUB_LOCAL_CLIENT_ID`.
 */
export function githubLikeDefinition(issuer: string, scopes = ["repo"]) {
  return {
    slug: "github-local",
    title: "GitHub (local provider)",
    start_command: "npx -y @modelcontextprotocol/server-everything@2026.8.31 stdio",
    credential_schema: {
      type: "object",
      properties: {
        GITHUB_PERSONAL_ACCESS_TOKEN: { type: "string", title: "Personal access token", minLength: 1, writeOnly: true },
        GITHUB_ORG: { type: "string", title: "Organization" },
      },
      required: ["GITHUB_PERSONAL_ACCESS_TOKEN"],
    },
    oauth: {
      provider: "GitHub",
      authorization_url: `${issuer}/authorize`,
      token_url: `${issuer}/token`,
      scopes,
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: "access_token" },
    },
  };
}
