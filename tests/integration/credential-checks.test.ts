import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKED_SERVER_FILE, CHECKED_SERVER_GOOD_TOKEN, checkedServer } from "../fixtures/checked-server";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { tempDir } from "../support/temp-dirs";

/**
 * A dry run ("Test connection") makes the definition's check call after tools/list, so that bad
 * credentials fail the test and not the first real tool call; on a real Berth with local sandboxes,
 * against tests/fixtures/checked-server.json, whose check validates its TOKEN offline.
 */
describe("dry runs check the credentials with the definition's check call", () => {
  let berth: BerthServer;
  let account: { account_id: string; api_key: string };
  let call: ReturnType<typeof api>;
  const dryRun = (server_id: string, TOKEN: string) =>
    call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id,
      credentials: { TOKEN },
      dry_run: true,
    });

  /** Adds the fixture under another slug with another check (none when `check` is undefined). */
  async function addVariant(slug: string, check: unknown) {
    const file = path.join(tempDir("berth-check-"), `${slug}.json`);
    fs.writeFileSync(file, JSON.stringify({ ...checkedServer, slug, check }));
    await berth.cli(["servers", "add", "--file", file]);
  }

  beforeAll(async () => {
    berth = await startBerth();
    account = (await berth.cli(["accounts", "create", "--name", "Checks"])) as typeof account;
    call = api(berth.url, account.api_key);
    // The way the dashboard's end-to-end suite adds it.
    await berth.cli(["servers", "add", "--file", CHECKED_SERVER_FILE]);
    await addVariant("unchecked-fixture", undefined);
    await addVariant("typo-fixture", { tool: "whoamii" });
    await addVariant("rejecting-fixture", { tool: "reject", arguments: { reason: "quota exceeded" } });
    await addVariant("hanging-fixture", { tool: "hang" });
  });
  afterAll(async () => {
    await berth?.stop();
  });

  it("serves the definition's check", async () => {
    const res = await call("GET", `/api/mcp-server-definitions/${checkedServer.slug}`);
    expect(res.status).toBe(200);
    expect(res.body.data.check).toEqual({ tool: "whoami", arguments: {} });
    expect((await call("GET", "/api/mcp-server-definitions/unchecked-fixture")).body.data).not.toHaveProperty("check");
  });

  it("answers checked: true when the check call succeeds", async () => {
    const res = await dryRun(checkedServer.slug, CHECKED_SERVER_GOOD_TOKEN);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ ok: true, checked: true, check: { tool: "whoami", ok: true } });
    expect(res.body.data.tools.map((t: { name: string }) => t.name)).toContain("whoami");
  });

  it("fails with the server's own message when the check call answers an error", async () => {
    const res = await dryRun(checkedServer.slug, "wrong-token");
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("dry_run_failed");
    expect(res.body.error.message).toContain("Bad credentials: token rejected");
    expect(res.body.error.details.check).toEqual({
      tool: "whoami",
      ok: false,
      message: "Bad credentials: token rejected",
    });
    // Nothing is stored by a dry run, failed or not.
    expect((await call("GET", `/api/mcp-connections?account_id=${account.account_id}`)).body.data).toEqual([]);
  });

  it("answers checked: false when the definition declares no check", async () => {
    const res = await dryRun("unchecked-fixture", "wrong-token");
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ ok: true, checked: false });
    expect(res.body.data).not.toHaveProperty("check");
  });

  it("names a check tool the server does not have", async () => {
    const res = await dryRun("typo-fixture", CHECKED_SERVER_GOOD_TOKEN);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("dry_run_failed");
    expect(res.body.error.message).toContain('The server has no tool "whoamii"');
    expect(res.body.error.details.check).toMatchObject({ tool: "whoamii", ok: false });
  });

  it("passes the check's arguments, and scrubs the credentials from a JSON-RPC error's message", async () => {
    const token = "tok-5f0e9c1d7b";
    const res = await dryRun("rejecting-fixture", token);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("dry_run_failed");
    expect(res.body.error.details.check).toEqual({
      tool: "reject",
      ok: false,
      message: "Rejected: quota exceeded (token [redacted])",
    });
    expect(res.body.error.message).toContain("Rejected: quota exceeded (token [redacted])");
    expect(res.text).not.toContain(token);
  });

  it("gives up on a check call that never answers, within its bound", async () => {
    const started = Date.now();
    const res = await dryRun("hanging-fixture", CHECKED_SERVER_GOOD_TOKEN);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("dry_run_failed");
    expect(res.body.error.message).toMatch(/No answer to the check's call of hang within 20 s/);
    expect(res.body.error.details.check).toMatchObject({ tool: "hang", ok: false });
    expect(Date.now() - started).toBeLessThan(40_000);
  }, 60_000);
});
