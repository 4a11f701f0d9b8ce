import { describe, expect, it } from "vitest";
import { E2BProvider } from "@/lib/sandbox/e2b";
import { NodeSandboxRuntime } from "@/lib/sandbox/runtime";
import { FAKE_E2B_API_KEY } from "../fakes/e2b-server";

/**
 * The same path as e2b-provider.test.ts, against the real E2B: runs only when E2B_API_KEY holds a
 * real key (E2B_DOMAIN, E2B_API_URL, E2B_SANDBOX_URL, E2B_PORT_URL_TEMPLATE and E2B_TEMPLATE are
 * honoured). It creates a few short-lived sandboxes on that account and kills them.
 */

const key = process.env.E2B_API_KEY;
const live = Boolean(key) && key !== FAKE_E2B_API_KEY && !key?.startsWith("e2b_fake");
if (!live) {
  console.log(
    `[e2b live] skipped: ${key ? "E2B_API_KEY is the fake's key" : "E2B_API_KEY is not set"}; set it to a real E2B key to run it`,
  );
}

const INSTALLATION = `berth-live-test-${Date.now()}`;

describe.skipIf(!live)("E2B provider against real E2B", () => {
  const provider = () =>
    new E2BProvider({
      apiKey: key,
      domain: process.env.E2B_DOMAIN,
      apiUrl: process.env.E2B_API_URL,
      sandboxUrl: process.env.E2B_SANDBOX_URL,
      portUrlTemplate: process.env.E2B_PORT_URL_TEMPLATE,
      template: process.env.E2B_TEMPLATE,
    });

  it("runs the memory server, extends, lists, reattaches and kills its sandbox", { timeout: 300_000 }, async () => {
    const e2b = provider();
    let runtime = new NodeSandboxRuntime(e2b, INSTALLATION);
    const spec = {
      connectionId: "live-conn",
      accountId: "live-acct",
      startCommand: "npx -y @modelcontextprotocol/server-memory@2026.8.31",
      env: { MEMORY_FILE_PATH: "{home}/memory.jsonl" },
      network: false,
      timeoutSeconds: 300,
    };
    const t0 = Date.now();
    const { sandboxId } = await runtime.deploy(spec);
    console.log(`[e2b live] deploy (create→initialize): ${Date.now() - t0} ms`);
    try {
      const session = runtime.session("live-conn");
      await session?.request("tools/call", {
        name: "create_entities",
        arguments: { entities: [{ name: "Berth", entityType: "project", observations: ["live on E2B"] }] },
      });
      const graph = await session?.request("tools/call", { name: "read_graph", arguments: {} });
      expect(JSON.stringify(graph)).toContain("live on E2B");

      await runtime.setExpiry("live-conn", sandboxId, new Date(Date.now() + 600_000));
      expect((await e2b.list(INSTALLATION)).map((s) => s.id)).toContain(sandboxId);

      // Berth restarts: a new provider reattaches to the running sandbox.
      await runtime.shutdown();
      runtime = new NodeSandboxRuntime(provider(), INSTALLATION);
      const t1 = Date.now();
      const again = await runtime.deploy({ ...spec, reattachSandboxId: sandboxId });
      console.log(`[e2b live] attach + initialize: ${Date.now() - t1} ms`);
      expect(again.sandboxId).toBe(sandboxId);
      const after = await runtime.session("live-conn")?.request("tools/call", { name: "read_graph", arguments: {} });
      expect(JSON.stringify(after)).toContain("live on E2B");
    } finally {
      await runtime.stop("live-conn", sandboxId);
    }
    expect((await e2b.list(INSTALLATION)).map((s) => s.id)).not.toContain(sandboxId);
  });

  it("runs a one-off command and destroys its sandbox", { timeout: 120_000 }, async () => {
    const r = await provider().exec({
      argv: ["sh", "-c", "cat; echo err >&2; exit 2"],
      stdin: "hello",
      timeoutSeconds: 30,
      maxOutputBytes: 1 << 20,
      owner: { installation: INSTALLATION, accountId: "live-acct" },
    });
    console.log(`[e2b live] exec: ${r.duration_ms} ms`);
    expect(r).toMatchObject({ stdout: "hello", stderr: "err\n", exit_code: 2, timed_out: false, truncated: false });
    expect(await provider().list(INSTALLATION)).toEqual([]);
  });
});
