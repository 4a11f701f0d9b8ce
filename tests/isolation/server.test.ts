import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { sandboxUid } from "@/lib/sandbox/bubblewrap";
import { homeOf, serverProcess, useSandboxes, waitFor } from "./helpers";

const memory = CATALOGUE.find((s) => s.slug === "memory") as (typeof CATALOGUE)[number];

/** The catalogue's memory server, prepared with Berth, works inside the sandbox as it does outside. */
describe("a real MCP server in a bubblewrap sandbox", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge", "cgroups"]);

  it("starts offline, answers initialize and tools, and keeps its data in its own home", async () => {
    expect(suite.provider.isolated).toBe(true);
    const started = Date.now();
    const { sandboxId } = await suite.runtime.deploy({
      connectionId: "conn-memory",
      accountId: "account-memory",
      startCommand: memory.start_command,
      env: memory.env as Record<string, string>,
      network: false,
      timeoutSeconds: 60,
    });
    const session = suite.runtime.session("conn-memory");
    expect(session?.initializeResult?.serverInfo.name).toBe("memory-server");
    expect(Date.now() - started).toBeLessThan(10_000);

    const tools = (await session?.request("tools/list", {})) as { tools: { name: string }[] };
    expect(tools.tools.map((t) => t.name)).toContain("create_entities");
    const created = (await session?.request("tools/call", {
      name: "create_entities",
      arguments: { entities: [{ name: "Berth", entityType: "project", observations: ["runs in bubblewrap"] }] },
    })) as { isError?: boolean };
    expect(created.isError).toBeFalsy();

    // The server process runs as the account's uid, from Berth's prepared package at its neutral path.
    const server = await waitFor("the memory server's process", () =>
      serverProcess("/opt/berth/node_modules/@modelcontextprotocol/server-memory/", sandboxId),
    );
    expect(server.uid).toBe(sandboxUid("account-memory"));

    // MEMORY_FILE_PATH={home}/memory.jsonl: written in its own home (a tmpfs of the sandbox's,
    // on no host disk), owned by the account's uid.
    const file = path.join(homeOf(server.pid), "memory.jsonl");
    await waitFor("the memory file", () => (fs.existsSync(file) ? true : undefined));
    expect(fs.readFileSync(file, "utf8")).toContain("runs in bubblewrap");
    expect(fs.statSync(file).uid).toBe(sandboxUid("account-memory"));
    const mount = fs.readFileSync(`/proc/${server.pid}/mountinfo`, "utf8").split("\n");
    expect(mount.find((l) => l.split(" ")[4] === "/home/sandbox")).toMatch(/ - tmpfs berth-home /);

    await suite.runtime.stop("conn-memory", sandboxId);
    expect(suite.runtime.isLive("conn-memory")).toBe(false);
    expect(fs.existsSync(path.join(suite.data.dir, "sandboxes", sandboxId))).toBe(false);
  });

  it("lists tools in a dry run and leaves nothing behind", async () => {
    const boxes = () => fs.readdirSync(path.join(suite.data.dir, "sandboxes")).filter((d) => d.startsWith("lcl-"));
    const before = boxes();
    const tools = await suite.runtime.dryRun({
      accountId: "account-memory",
      startCommand: memory.start_command,
      env: memory.env as Record<string, string>,
      network: false,
      timeoutSeconds: 60,
    });
    expect(tools.map((t) => t.name)).toContain("read_graph");
    expect(boxes()).toEqual(before);
  });
});
