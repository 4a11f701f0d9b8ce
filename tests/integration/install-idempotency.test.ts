import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type api, type BerthServer, newAccount, startBerth } from "../support/berth-server";

/**
 * `Idempotency-Key` on install: a client that sends an install again (after a timeout, or a 503
 * whose work was in fact done) gets the connection the first one made, not a second one.
 */
describe("install with an Idempotency-Key", () => {
  let berth: BerthServer;
  let call: ReturnType<typeof api>;
  let accountId: string;

  beforeAll(async () => {
    berth = await startBerth();
    ({ accountId, call } = await newAccount(berth, "idempotent"));
  });
  afterAll(async () => {
    await berth?.stop();
  });

  const install = (key: string | undefined, server = "memory") =>
    call(
      "POST",
      "/api/mcp-connections/install",
      { account_id: accountId, server_id: server, keep_alive: false },
      key === undefined ? {} : { "idempotency-key": key },
    );
  const live = async () =>
    ((await call("GET", `/api/mcp-connections?account_id=${accountId}`)).body.data as { id: string }[]).map(
      (c) => c.id,
    );

  it("the same key answers the same connection, sent again or many times at once; one sandbox", async () => {
    const key = crypto.randomUUID();
    const first = await install(key);
    expect(first.status, first.text).toBe(201);
    const again = await install(key);
    expect(again.status, again.text).toBe(201);
    expect(again.body.data.id).toBe(first.body.data.id);

    const racing = crypto.randomUUID();
    const answers = await Promise.all(Array.from({ length: 6 }, () => install(racing)));
    for (const a of answers) expect(a.status, a.text).toBe(201);
    const ids = new Set(answers.map((a) => a.body.data.id));
    expect(ids.size).toBe(1);
    expect((await live()).sort()).toEqual([first.body.data.id, ...ids].sort());

    for (const id of await live()) expect((await call("DELETE", `/api/mcp-connections/${id}`)).status).toBe(200);
  });

  it("the same key with other credentials, or another name, timeout or keep_alive, answers 409: never 'stored' for what was not", async () => {
    const key = crypto.randomUUID();
    const body = {
      account_id: accountId,
      server_id: "brave-search",
      credentials: { BRAVE_API_KEY: "old-token" },
      name: "Search",
      timeout: 600,
      keep_alive: false,
    };
    const send = (changes: Record<string, unknown>) =>
      call("POST", "/api/mcp-connections/install", { ...body, ...changes }, { "idempotency-key": key });
    const first = await send({});
    expect(first.status, first.text).toBe(201);
    for (const changes of [
      { credentials: { BRAVE_API_KEY: "new-token" } },
      { name: "Other" },
      { timeout: 60 },
      { keep_alive: true },
    ]) {
      const res = await send(changes);
      expect([JSON.stringify(changes), res.status, res.body.error?.code]).toEqual([
        JSON.stringify(changes),
        409,
        "conflict",
      ]);
      expect(res.body.error.message).toContain(first.body.data.id);
      expect(res.text).not.toContain("token");
    }
    // Resent as it was (the name and timeout left to their defaults would not count either): the same connection.
    expect((await send({})).body.data.id).toBe(first.body.data.id);
    const { name: _, timeout: __, ...withDefaults } = body;
    const keyed = crypto.randomUUID();
    const a = await call("POST", "/api/mcp-connections/install", withDefaults, { "idempotency-key": keyed });
    const b = await call("POST", "/api/mcp-connections/install", { ...withDefaults }, { "idempotency-key": keyed });
    expect([a.status, b.status, b.body.data.id]).toEqual([201, 201, a.body.data.id]);
    for (const id of await live()) await call("DELETE", `/api/mcp-connections/${id}`);
  });

  it("without a key every install is a new connection", async () => {
    const a = await install(undefined);
    const b = await install(undefined);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.data.id).not.toBe(b.body.data.id);
    for (const id of await live()) await call("DELETE", `/api/mcp-connections/${id}`);
  });

  it("a key used for another server answers 409; a deleted connection frees its key", async () => {
    const key = crypto.randomUUID();
    const first = await install(key);
    expect(first.status).toBe(201);
    const other = await install(key, "everything");
    expect(other.status, other.text).toBe(409);
    expect(other.body.error.code).toBe("conflict");
    expect(other.body.error.message).toContain(first.body.data.id);

    expect((await call("DELETE", `/api/mcp-connections/${first.body.data.id}`)).status).toBe(200);
    const fresh = await install(key);
    expect(fresh.status).toBe(201);
    expect(fresh.body.data.id).not.toBe(first.body.data.id);
    await call("DELETE", `/api/mcp-connections/${fresh.body.data.id}`);
  });

  it("refuses a key that is empty, too long or not visible ASCII: 400 naming the header", async () => {
    for (const key of ["", "x".repeat(256), "has space", "naïve"]) {
      const res = await install(key);
      // An empty header is no key at all to some clients; Berth refuses it rather than guess.
      expect(res.status, `${JSON.stringify(key)}: ${res.text}`).toBe(400);
      expect(res.body.error.details[0].path).toBe("idempotency-key");
    }
    expect(await live()).toEqual([]);
  });

  it("another account's key is its own: the same key makes separate connections", async () => {
    const other = await newAccount(berth, "other");
    const key = crypto.randomUUID();
    const mine = await install(key);
    const theirs = await other.call(
      "POST",
      "/api/mcp-connections/install",
      { account_id: other.accountId, server_id: "memory", keep_alive: false },
      { "idempotency-key": key },
    );
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.body.data.id).not.toBe(mine.body.data.id);
    await call("DELETE", `/api/mcp-connections/${mine.body.data.id}`);
    await other.call("DELETE", `/api/mcp-connections/${theirs.body.data.id}`);
  });
});
