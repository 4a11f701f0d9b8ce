import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";

type Account = { account_id: string; api_key: string };

describe("POST /api/sandbox-runs", () => {
  let berth: BerthServer;
  let account: Account;
  let call: ReturnType<typeof api>;
  const run = (body: object) => call("POST", "/api/sandbox-runs", { account_id: account.account_id, ...body });

  beforeAll(async () => {
    berth = await startBerth();
    account = (await berth.cli(["accounts", "create", "--name", "Runs"])) as Account;
    call = api(berth.url, account.api_key);
  });
  afterAll(async () => {
    await berth?.stop();
  });

  it("runs a command line split like a shell, without a shell, and destroys the sandbox", async () => {
    const res = await run({ command: `node -e "console.log(process.argv.slice(1).join('|'))" 'a b' "c;d" '$HOME'` });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      stdout: "a b|c;d|$HOME\n",
      stderr: "",
      exit_code: 0,
      truncated: false,
      timed_out: false,
    });
    expect(res.body.data.duration_ms).toBeGreaterThan(0);
    const left = fs.readdirSync(path.join(berth.dataDir, "sandboxes")).filter((d) => d.startsWith("lcl-"));
    expect(left).toEqual([]);
  });

  it("takes an argv array and stdin, and reports the exit code and stderr", async () => {
    const res = await run({
      command: ["node", "-e", "process.stdin.on('data', d => { console.error('got ' + d); process.exit(3) })"],
      stdin: "hello",
    });
    expect(res.body.data).toMatchObject({ stdout: "", stderr: "got hello\n", exit_code: 3 });
  });

  it("kills a command past its timeout", async () => {
    const res = await run({ command: ["node", "-e", "setInterval(() => {}, 1000)"], timeout: 1 });
    expect(res.body.data).toMatchObject({ timed_out: true, exit_code: null });
    expect(res.body.data.duration_ms).toBeGreaterThanOrEqual(1000);
  });

  it("caps output at 1 MiB", async () => {
    const res = await run({ command: ["node", "-e", "process.stdout.write('x'.repeat(3 * 1024 * 1024))"] });
    expect(res.body.data.truncated).toBe(true);
    expect(res.body.data.stdout.length).toBe(1024 * 1024);
  });

  it("answers 400, 401 and 404 in the contract's shape", async () => {
    expect((await run({ command: "echo a | cat" })).body.error.details).toEqual([
      { path: "command", message: expect.stringMatching(/shell syntax/) },
    ]);
    expect((await run({ command: [] })).status).toBe(400);
    expect((await run({ command: "true", timeout: 0 })).status).toBe(400);
    const other = (await berth.cli(["accounts", "create", "--name", "Other"])) as Account;
    expect((await run({ command: "true", account_id: other.account_id })).status).toBe(404);
    expect(
      (await api(berth.url)("POST", "/api/sandbox-runs", { account_id: account.account_id, command: "true" })).status,
    ).toBe(401);
  });
});
