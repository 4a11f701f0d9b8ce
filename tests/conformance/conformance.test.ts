import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_E2B_FIXTURES } from "../fakes/e2b-server";
import { e2bAgainstFake } from "../lifecycle/providers";
import { api, type BerthServer, freePort, startBerth } from "../support/berth-server";
import { tempDir } from "../support/temp-dirs";
import { until } from "../support/until";

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in runner/) run
 * against its own reference server (tests/fixtures/conformance/everything-server.mjs), first
 * directly over Streamable HTTP, then hosted by Berth: every scenario that passes directly must
 * pass through Berth too. The suite needs Node ≥ 22, Berth runs on 20: runner/ brings its own
 * Node (the npm `node` package) and is installed on first use.
 */

const RUNNER = path.join(import.meta.dirname, "runner");
const NODE22 = path.join(RUNNER, "node_modules/node/bin/node");
const CONFORMANCE_CLI = path.join(RUNNER, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
const EVERYTHING_SERVER = path.resolve(import.meta.dirname, "../fixtures/conformance/everything-server.mjs");
/** The whole suite takes seconds against a healthy server; a hung scenario waits out its SDK timeouts. */
const SUITE_MS = 240_000;

const run = promisify(execFile);

type Status = "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
type Check = {
  id: string;
  name: string;
  status: Status;
  description?: string;
  errorMessage?: string;
  details?: unknown;
};
/** One run of the suite: each scenario's checks (none: it threw or never ran), and where its files are. */
type SuiteRun = { url: string; dir: string; exitCode: number | null; scenarios: Map<string, Check[]> };

/** Installs runner/ from its lock file unless it is there already. */
async function ensureRunner() {
  if (fs.existsSync(path.join(RUNNER, "node_modules/.bin/conformance")) && fs.existsSync(NODE22)) return;
  await run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: RUNNER, timeout: 300_000, maxBuffer: 16 << 20 });
  // The `node` package fetches its binary in a preinstall script: an npm that skips scripts leaves none.
  if (!fs.existsSync(NODE22)) throw new Error(`npm ci in ${RUNNER} left no ${NODE22} (were install scripts skipped?)`);
}

/**
 * Runs the default (active) server suite against `url` in a temp dir, with `-o results`: each
 * scenario that ran writes results/server-<scenario>-<timestamp>/checks.json. The scenarios are
 * named on stdout ("=== Running scenario: x ==="), so one that threw (no checks.json) still shows.
 */
async function runSuite(url: string, label: string): Promise<SuiteRun> {
  const dir = tempDir(`conformance-${label}-`);
  const child = spawn(NODE22, [CONFORMANCE_CLI, "server", "--url", url, "-o", "results"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), SUITE_MS);
  const exitCode = await new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  clearTimeout(timer);
  fs.writeFileSync(path.join(dir, "stdout.txt"), stdout);
  fs.writeFileSync(path.join(dir, "stderr.txt"), stderr);

  const scenarios = new Map<string, Check[]>();
  for (const m of stdout.matchAll(/^=== Running scenario: (\S+) ===$/gm)) scenarios.set(m[1] as string, []);
  const results = path.join(dir, "results");
  for (const entry of fs.existsSync(results) ? fs.readdirSync(results) : []) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(entry);
    const file = path.join(results, entry, "checks.json");
    if (m && fs.existsSync(file)) scenarios.set(m[1] as string, JSON.parse(fs.readFileSync(file, "utf8")));
  }
  return { url, dir, exitCode, scenarios };
}

/** A scenario's verdict: pass (no FAILURE or WARNING), fail (a FAILURE), warn, or none (no checks). */
function verdict(checks: Check[] | undefined): "pass" | "FAIL" | "warn" | "none" {
  if (!checks?.length) return "none";
  if (checks.some((c) => c.status === "FAILURE")) return "FAIL";
  if (checks.some((c) => c.status === "WARNING")) return "warn";
  return "pass";
}

function failures(checks: Check[] | undefined): string[] {
  if (!checks?.length) return ["(no checks: the scenario threw or never ran)"];
  return checks
    .filter((c) => c.status === "FAILURE")
    .map((c) => `${c.id}: ${c.errorMessage ?? c.description ?? ""} ${JSON.stringify(c.details ?? {}).slice(0, 600)}`);
}

/** One request through the proxy, for reading a failure: the MCP headers, the start of each body. */
type Exchange = {
  method?: string;
  path?: string;
  headers: Record<string, unknown>;
  sent: string;
  status?: number;
  got: string;
};
const MCP_HEADERS = [
  "host",
  "origin",
  "accept",
  "content-type",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
];
const BODY_LOGGED = 600;

/**
 * A local reverse proxy that adds `Authorization: Bearer <key>` and passes everything else as it
 * came: method, path, headers (Host and Origin included), bodies streamed both ways (SSE too).
 * It listens first (its origin goes into BERTH_ALLOWED_ORIGINS); `target` is set once Berth runs.
 * It keeps a log of the exchanges (`http.log` next to the suite's results).
 */
async function startAuthProxy() {
  let target: URL | undefined;
  let key = "";
  const exchanges: Exchange[] = [];
  const server = http.createServer((req, res) => {
    if (!target) {
      res.writeHead(503).end("no target yet");
      return;
    }
    const exchange: Exchange = {
      method: req.method,
      path: req.url,
      headers: Object.fromEntries(MCP_HEADERS.filter((h) => req.headers[h]).map((h) => [h, req.headers[h]])),
      sent: "",
      got: "",
    };
    exchanges.push(exchange);
    req.on("data", (d: Buffer) => {
      if (exchange.sent.length < BODY_LOGGED) exchange.sent += d.toString("utf8").slice(0, BODY_LOGGED);
    });
    const headers: http.OutgoingHttpHeaders = { ...req.headers, authorization: `Bearer ${key}` };
    delete headers.connection;
    delete headers["keep-alive"];
    const upstream = http.request(
      { hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (up) => {
        exchange.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.flushHeaders();
        up.on("data", (d: Buffer) => {
          if (exchange.got.length < BODY_LOGGED) exchange.got += d.toString("utf8").slice(0, BODY_LOGGED);
        });
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502).end(`proxy: ${err.message}`);
      else res.destroy();
    });
    // The client left (closed its SSE stream, say): so does the proxy's request.
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    /** The URL the suite is pointed at: localhost, as the dns-rebinding scenario requires. */
    url: (mcpPath: string) => `http://localhost:${port}${mcpPath}`,
    forward(to: string, apiKey: string) {
      target = new URL(to);
      key = apiKey;
    },
    /** The exchanges so far as text, one block each. */
    log: () =>
      exchanges
        .map((e) => `${e.method} ${e.path} ${JSON.stringify(e.headers)}\n> ${e.sent}\n< ${e.status} ${e.got}\n`)
        .join("\n"),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Where Berth runs its sandboxes. */
type Provider = { name: string; setup(): Promise<void>; teardown(): Promise<void>; env(): Record<string, string> };

/** Plain processes: the only local sandbox that sees a host path (bubblewrap shows none of /work). */
const processProvider: Provider = {
  name: "process",
  async setup() {},
  async teardown() {},
  env: () => ({ SANDBOX_PROVIDER: "process" }),
};

/** One way of hosting the reference server through Berth: a column of the table. */
type BerthVariant = {
  name: string;
  provider: Provider;
  /** The server definition (`berth servers add --file`) that runs the reference server. */
  definition(provider: Provider): Record<string, unknown>;
};

/**
 * The reference server as each provider's sandbox sees it: at its path for a plain process; in the
 * fake E2B, where the host's /tmp (a checkout there, say) is not visible, in the fixtures the fake
 * mounts like a custom template's files, its packages found in /home/node_modules.
 */
const serverPath = (provider: Provider) =>
  provider === e2bAgainstFake ? `${FAKE_E2B_FIXTURES}/conformance/everything-server.mjs` : EVERYTHING_SERVER;

const stdioDefinition = (provider: Provider) => ({
  slug: "conformance-everything",
  title: "MCP conformance reference server (stdio)",
  start_command: `node ${serverPath(provider)} stdio`,
});

/** The same server serving Streamable HTTP itself in its sandbox (Berth sets PORT to `port`). */
const httpDefinition = (provider: Provider) => ({
  slug: "conformance-everything-http",
  title: "MCP conformance reference server (Streamable HTTP)",
  start_command: `node ${serverPath(provider)} http`,
  transport: "streamable-http",
  port: 3301,
});

const VARIANTS: BerthVariant[] = [
  { name: "stdio/process", provider: processProvider, definition: stdioDefinition },
  { name: "stdio/e2b-fake", provider: e2bAgainstFake, definition: stdioDefinition },
  { name: "http/process", provider: processProvider, definition: httpDefinition },
  { name: "http/e2b-fake", provider: e2bAgainstFake, definition: httpDefinition },
];

/** The direct run, made once and shared by every variant's comparison. */
let directRun: Promise<SuiteRun> | undefined;
function direct(): Promise<SuiteRun> {
  directRun ??= (async () => {
    const port = await freePort();
    const proc: ChildProcess = spawn(process.execPath, [EVERYTHING_SERVER, "http"], {
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    proc.stdout?.on("data", (d) => {
      output += d;
    });
    proc.stderr?.on("data", (d) => {
      output += d;
    });
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    try {
      await until(
        "the reference server to listen",
        () => {
          if (proc.exitCode !== null) throw new Error(`the reference server exited (${proc.exitCode}):\n${output}`);
          return output.includes("MCP Conformance Test Server running") ? true : undefined;
        },
        30_000,
      );
      return await runSuite(`http://localhost:${port}/mcp`, "direct");
    } finally {
      proc.kill();
      await exited;
    }
  })();
  return directRun;
}

const berthRuns = new Map<string, SuiteRun>();

describe("MCP conformance suite (@modelcontextprotocol/conformance 0.1.16)", () => {
  beforeAll(ensureRunner, 360_000);

  afterAll(async () => {
    if (!directRun) return;
    const base = await directRun.catch(() => undefined);
    if (!base) return;
    const columns = ["direct", ...VARIANTS.map((v) => v.name).filter((n) => berthRuns.has(n))];
    const runs = [base, ...columns.slice(1).map((n) => berthRuns.get(n) as SuiteRun)];
    const names = [...new Set(runs.flatMap((r) => [...r.scenarios.keys()]))];
    const width = Math.max(8, ...names.map((n) => n.length));
    const cell = (s: string) => s.padEnd(16);
    const lines = [
      `${"scenario".padEnd(width)}  ${columns.map(cell).join("")}`,
      ...names.map(
        (n) =>
          `${n.padEnd(width)}  ${runs
            .map((r) => {
              const checks = r.scenarios.get(n);
              const v = verdict(checks);
              const ok = checks?.filter((c) => c.status === "SUCCESS").length ?? 0;
              return cell(v === "none" ? "none" : `${v} ${ok}/${checks?.length}`);
            })
            .join("")}`,
      ),
      "",
      ...runs.map((r, i) => `${columns[i]}: ${r.url} (exit ${r.exitCode}), files in ${r.dir}`),
    ];
    console.log(`\nMCP conformance, checks passed per scenario:\n${lines.join("\n")}\n`);
  });

  it(
    "the reference server passes its own suite directly",
    async () => {
      const base = await direct();
      // The active suite of 0.1.16: 30 scenarios (all but the pending json-schema-2020-12 and sse-polling).
      expect(base.scenarios.size).toBeGreaterThanOrEqual(30);
      const failing = Object.fromEntries(
        [...base.scenarios].filter(([, checks]) => verdict(checks) !== "pass").map(([n, c]) => [n, failures(c)]),
      );
      expect(failing).toEqual({});
    },
    SUITE_MS + 60_000,
  );

  describe.each(VARIANTS)("through Berth: $name", (variant) => {
    let berth: BerthServer;
    let proxy: Awaited<ReturnType<typeof startAuthProxy>>;
    let mcpUrl: string;

    beforeAll(async () => {
      await variant.provider.setup();
      proxy = await startAuthProxy();
      // The dns-rebinding scenario's valid request comes from the proxy's own origin.
      berth = await startBerth({
        ...variant.provider.env(),
        BERTH_ALLOWED_ORIGINS: `http://localhost:${proxy.port}`,
      });
      const account = (await berth.cli(["accounts", "create", "--name", "Conformance"])) as {
        account_id: string;
        api_key: string;
      };
      const file = path.join(berth.dataDir, "conformance-definition.json");
      const definition = variant.definition(variant.provider);
      fs.writeFileSync(file, JSON.stringify(definition));
      await berth.cli(["servers", "add", "--file", file]);
      const res = await api(berth.url, account.api_key)("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: definition.slug,
      });
      expect(res.body?.data?.status, res.text).toBe("running");
      mcpUrl = res.body.data.mcp_url;
      proxy.forward(berth.url, account.api_key);
    }, 180_000);

    afterAll(async () => {
      await proxy?.close();
      await berth?.stop();
      await variant.provider.teardown();
    });

    it(
      "passes every scenario the reference server passes directly",
      async () => {
        const base = await direct();
        const through = await runSuite(proxy.url(new URL(mcpUrl).pathname), variant.name.replace(/\W/g, "-"));
        fs.writeFileSync(path.join(through.dir, "http.log"), proxy.log());
        berthRuns.set(variant.name, through);
        // A scenario that passes directly must not fail (or go missing) through Berth.
        const regressions = Object.fromEntries(
          [...base.scenarios]
            .filter(
              ([n, checks]) =>
                verdict(checks) === "pass" && ["FAIL", "none"].includes(verdict(through.scenarios.get(n))),
            )
            .map(([n]) => [n, failures(through.scenarios.get(n))]),
        );
        expect(regressions, `suite output in ${through.dir}`).toEqual({});
      },
      2 * SUITE_MS,
    );
  });
});
