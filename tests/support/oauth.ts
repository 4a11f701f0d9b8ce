import { createHash, randomBytes } from "node:crypto";

/** A PKCE pair (S256), as an OAuth client makes one. */
export function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** Registers a public client (RFC 7591) with Berth's authorization server; its client_id. */
export async function registerClient(berthUrl: string, redirectUri: string, name = "test client") {
  const res = await fetch(`${berthUrl}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
  });
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { client_id: string }).client_id;
}

/** Starts an authorization for `resource` (a connection's MCP URL): the consent page's path Berth sends the browser to. */
export async function startAuthorization(
  berthUrl: string,
  a: { clientId: string; redirectUri: string; resource: string; challenge: string; state?: string },
) {
  const url = new URL(`${berthUrl}/authorize`);
  url.search = new URLSearchParams({
    client_id: a.clientId,
    redirect_uri: a.redirectUri,
    response_type: "code",
    code_challenge: a.challenge,
    code_challenge_method: "S256",
    resource: a.resource,
    ...(a.state ? { state: a.state } : {}),
  }).toString();
  const res = await fetch(url, { redirect: "manual" });
  return { status: res.status, location: res.headers.get("location") ?? "" };
}

/** The token endpoint, form-encoded as OAuth has it. */
export async function tokenRequest(berthUrl: string, form: Record<string, string>) {
  const res = await fetch(`${berthUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
