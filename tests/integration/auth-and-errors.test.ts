import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Route } from "@/lib/core/http/route";
import { ROUTES } from "@/lib/core/http/routes";
import { api, type BerthServer, mcpInitialize, startBerth } from "../support/berth-server";

type Account = { account_id: string; api_key: string };

/** Unknown and malformed ids, bad input → 400 in the contract's shape, limits and conflicts. */
describe("auth, tenancy and errors", () => {
  let berth: BerthServer;
  let owner: Account;
  let connId: string;

  beforeAll(async () => {
    berth = await startBerth();
    owner = (await berth.cli(["accounts", "create", "--name", "Owner"])) as Account;
    const res = await api(berth.url, owner.api_key)("POST", "/api/mcp-connections/install", {
      account_id: owner.account_id,
      server_id: "memory",
    });
    expect(res.status).toBe(201);
    connId = res.body.data.id;
  });
  afterAll(async () => {
    await berth?.stop();
  });

  /** Every route of a connection in the route table, with a body it accepts. */
  const connectionRoutes = (id: string): [string, string, unknown?][] =>
    (Object.entries(ROUTES) as [string, Route][])
      .filter(([key]) => /:id(\/|$)/.test(key))
      .map(([key, route]) => {
        const [method = "", path = ""] = key.split(" ");
        return [method, path.replace(":id", id), route.example];
      });

  // 401 and another account's 404 on every route: tests/contract (the app and the Edge Function).

  it("answers 404 for unknown and malformed ids and unknown servers", async () => {
    const call = api(berth.url, owner.api_key);
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid"]) {
      for (const [method, p, body] of connectionRoutes(id)) {
        expect([method, p, (await call(method, p, body)).status]).toEqual([method, p, 404]);
      }
    }
    expect((await call("GET", "/api/mcp-server-definitions/nope")).status).toBe(404);
    const res = await call("POST", "/api/mcp-connections/install", { account_id: owner.account_id, server_id: "nope" });
    expect(res.status).toBe(404);
    expect((await call("GET", "/api/no-such-route")).body.error.code).toBe("not_found");
  });

  it("answers 400 with per-field details for bad bodies", async () => {
    const call = api(berth.url, owner.api_key);
    const cases: [string, string, unknown, string[]][] = [
      ["POST", "/api/mcp-connections/install", {}, ["account_id", "server_id"]],
      [
        "POST",
        "/api/mcp-connections/install",
        { account_id: owner.account_id, server_id: "memory", timeout: 0 },
        ["timeout"],
      ],
      [
        "POST",
        "/api/mcp-connections/install",
        { account_id: owner.account_id, server_id: "memory", timeout: 1.5 },
        ["timeout"],
      ],
      [
        "POST",
        "/api/mcp-connections/install",
        { account_id: owner.account_id, server_id: "memory", keep_alive: "yes" },
        ["keep_alive"],
      ],
      [
        "POST",
        "/api/mcp-connections/install",
        { account_id: owner.account_id, server_id: "memory", colour: "red" },
        ["colour"],
      ],
      [
        "POST",
        "/api/mcp-connections/install",
        { account_id: owner.account_id, server_id: "github" },
        ["credentials.GITHUB_PERSONAL_ACCESS_TOKEN"],
      ],
      [
        "POST",
        "/api/mcp-connections/install",
        { account_id: owner.account_id, server_id: "slack", credentials: { SLACK_BOT_TOKEN: 5, SLACK_TEAM_ID: "T1" } },
        ["credentials.SLACK_BOT_TOKEN"],
      ],
      [
        "POST",
        "/api/mcp-connections/install",
        { account_id: owner.account_id, server_id: "memory", credentials: { X: "1" } },
        ["credentials.X"],
      ],
      ["POST", `/api/mcp-connections/${connId}/extend`, { seconds: 0 }, ["seconds"]],
      ["POST", `/api/mcp-connections/${connId}/extend`, { seconds: 86401 }, ["seconds"]],
      ["POST", `/api/mcp-connections/${connId}/extend`, { seconds: "60" }, ["seconds"]],
      ["PUT", `/api/mcp-connections/${connId}/credentials`, {}, ["credentials"]],
      ["POST", "/api/mcp-connections/install", "{not json", [""]],
      ["POST", "/api/mcp-connections/install", [], [""]],
    ];
    for (const [method, p, body, paths] of cases) {
      const res = await call(method, p, body);
      expect([p, JSON.stringify(body), res.status]).toEqual([p, JSON.stringify(body), 400]);
      expect(res.body.error.code).toBe("bad_request");
      expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(paths.sort());
      expect(res.text).not.toMatch(/at \S+ \(|node_modules/); // no stack traces
    }
    const list = await call("GET", "/api/mcp-connections?account_id=nope");
    expect(list.status).toBe(400);
    const still = await call("GET", `/api/mcp-connections/${connId}`);
    expect(still.body.data.status).toBe("running");
  });

  it("answers 413 for bodies over 64 KiB", async () => {
    const call = api(berth.url, owner.api_key);
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: owner.account_id,
      server_id: "memory",
      name: "x".repeat(70 * 1024),
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });

  it("extends to max(old, now + seconds) and refuses a non-running connection", async () => {
    const call = api(berth.url, owner.api_key);
    const before = (await call("GET", `/api/mcp-connections/${connId}`)).body.data;
    const shorter = await call("POST", `/api/mcp-connections/${connId}/extend`, { seconds: 1 });
    expect(shorter.status).toBe(200);
    expect(shorter.body.data.expires_at).toBe(before.expires_at);
    const longer = await call("POST", `/api/mcp-connections/${connId}/extend`, { seconds: 86400 });
    expect(Date.parse(longer.body.data.expires_at)).toBeGreaterThan(Date.now() + 86000 * 1000);
    const events = (await call("GET", `/api/mcp-connections/${connId}/events`)).body.data;
    expect(events[0].type).toBe("extended");

    const other = await call("POST", "/api/mcp-connections/install", {
      account_id: owner.account_id,
      server_id: "brave-search",
      credentials: { BRAVE_API_KEY: "k" },
      timeout: 5,
    });
    expect(other.status).toBe(201);
    const del = await call("DELETE", `/api/mcp-connections/${other.body.data.id}`);
    expect(del.status).toBe(200);
    const again = await call("POST", `/api/mcp-connections/${other.body.data.id}/extend`, {});
    expect(again.status).toBe(404);
  });

  it("answers 409 on the MCP endpoint of a connection that is not running", async () => {
    const call = api(berth.url, owner.api_key);
    const file = `${berth.dataDir}/exits.json`;
    (await import("node:fs")).writeFileSync(
      file,
      JSON.stringify({ slug: "exits", title: "Exits", start_command: "node -e 0" }),
    );
    await berth.cli(["servers", "add", "--file", file]);
    const failed = await call("POST", "/api/mcp-connections/install", {
      account_id: owner.account_id,
      server_id: "exits",
    });
    expect(failed.body.data.status).toBe("failed");
    const res = await mcpInitialize(call, failed.body.data.id);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("connection_not_running");
    const ext = await call("POST", `/api/mcp-connections/${failed.body.data.id}/extend`, {});
    expect(ext.status).toBe(409);
    expect(ext.body.error.code).toBe("conflict");
  });
});
