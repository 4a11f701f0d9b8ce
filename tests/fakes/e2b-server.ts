import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { tempDir } from "../support/temp-dirs";

/**
 * A local fake of E2B that speaks what the real `e2b` SDK (2.x) sends, on one port:
 *
 * - the REST API (`X-API-KEY`): POST /v2/sandboxes, POST /v2/sandboxes/:id/connect,
 *   GET /v2/sandboxes?metadata=…, GET /sandboxes/:id, POST /sandboxes/:id/timeout, POST /sandboxes/:id/pause,
 *   DELETE /sandboxes/:id; connect resumes a paused sandbox (its processes were stopped with SIGSTOP,
 *   so they go on where they were, as from E2B's memory snapshot);
 *   errors as `{"code","message"}`;
 * - envd, the daemon inside each sandbox (selected by the `E2b-Sandbox-Id` header, authenticated by
 *   `X-Access-Token`): GET /health, GET|POST /files, and Connect-RPC with the JSON codec —
 *   process.Process/{Start,Connect} as server streams (`application/connect+json`, each message
 *   in a 5-byte envelope: flags, big-endian length; flags 0x02 marks the end-of-stream trailer),
 *   process.Process/{List,SendInput,SendSignal,CloseStdin,Update} and
 *   filesystem.Filesystem/{Stat,MakeDir,ListDir,Remove,Move} as unary JSON;
 * - the sandboxes' ports under /ports/:sandboxId/:port/…, like https://{port}-{id}.e2b.app, with the
 *   `e2b-traffic-access-token` check of sandboxes created with allowPublicTraffic: false.
 *
 * Commands really run on this machine. Each sandbox gets its own network namespace (loopback only,
 * so every sandbox can listen on 8080 like a real one, and none reaches the internet) and mount
 * namespace: a private /tmp, the host root read-only, and a temp dir mounted as /home/user (HOME and
 * the default cwd). Berth's node_modules is mounted read-only at /home/node_modules, where npx finds
 * it as the enclosing project: `npx -y supergateway@4.0.0` and the catalogue servers start offline,
 * as if preinstalled in the template; the project's tests/fixtures are at /home/fixtures likewise
 * (a custom template with the conformance suite's reference server baked in), so a server there
 * finds its packages in /home/node_modules. A port is reached through a small forwarder inside the
 * namespace listening on a Unix socket. The sandbox timeout is enforced (every process in the
 * namespace is killed at end of life), and every call is recorded in `calls`.
 *
 * For scale, `addLightSandboxes` registers sandboxes that exist only as records of the REST API
 * (timeout, kill, pause, connect, list, info work on them; they run nothing, so envd and ports
 * answer that they are gone), and `rateLimit` makes the API answer 429 like E2B's rate limiter.
 * `apiStats` counts what the REST API saw: requests in flight at most, 429s answered.
 *
 * Needs root (namespaces); see `FakeE2B.supported()`.
 */

export const FAKE_E2B_API_KEY = "e2b_fake_0123456789abcdef0123456789abcdef";
const ENVD_VERSION = "0.5.8";
const SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const FORWARD_SOCKET = "/tmp/.fake-e2b-ports.sock";
const PROJECT_NODE_MODULES = path.resolve(import.meta.dirname, "../../node_modules");
const PROJECT_FIXTURES = path.resolve(import.meta.dirname, "../fixtures");
/** Where sandboxes of the fake see tests/fixtures. */
export const FAKE_E2B_FIXTURES = "/home/fixtures";

export type FakeCall = {
  at: number;
  api: "rest" | "envd" | "port" | "lifecycle";
  method: string;
  path: string;
  sandboxId?: string;
  body?: unknown;
  status?: number;
};

type ProcEvent = Record<string, unknown>;
type Proc = {
  pid: number;
  child: ChildProcess;
  config: { cmd: string; args: string[]; envs: Record<string, string>; cwd?: string };
  tag?: string;
  listeners: Set<(event: ProcEvent) => void>;
};

type FakeSandbox = {
  id: string;
  templateID: string;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  network: Record<string, unknown> | undefined;
  allowInternetAccess: boolean | undefined;
  envdAccessToken: string;
  trafficAccessToken: string | undefined;
  startedAt: Date;
  endAt: Date;
  timer?: NodeJS.Timeout;
  dir: string;
  /** Only a record of the REST API: no namespace, no processes, no directory. */
  light: boolean;
  holder?: ChildProcess;
  holderPid: number;
  netns: string;
  procs: Map<number, Proc>;
  streams: Set<http.ServerResponse>;
  state: "running" | "paused" | "killed";
};

/** What the tests may inspect of a sandbox. */
export type FakeSandboxView = {
  id: string;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  network: Record<string, unknown> | undefined;
  allowInternetAccess: boolean | undefined;
  startedAt: Date;
  endAt: Date;
  /** The host directory that is the sandbox's /home/user. */
  home: string;
};

export type FakeE2BOptions = {
  apiKey?: string;
  /** The plan's longest timeout; a larger one is refused like E2B does. Default 3600 s. */
  maxTimeoutSeconds?: number;
  /** Where sandbox dirs are made; default a fresh dir under the OS temp dir. */
  root?: string;
  /** How long a resume (connect to a paused sandbox) takes; E2B documents about a second. Default 0. */
  resumeDelayMs?: number;
  /** How long each REST API call takes before it is answered (E2B's round trip). Default 0. */
  apiLatencyMs?: number;
};

/**
 * 429s of the REST API: every call on `sandboxIds`, the next `burst` calls, and/or `fraction` of
 * all calls (spread evenly, so the count is exact), with `Retry-After: retryAfterSeconds` (null:
 * no header).
 */
export type FakeRateLimit = {
  sandboxIds?: string[];
  burst?: number;
  fraction?: number;
  retryAfterSeconds?: number | null;
};

/** What the REST API saw since the last `resetApiStats`. */
export type FakeApiStats = { maxInFlight: number; rateLimited: number; requests: number };

export class FakeE2B {
  readonly calls: FakeCall[] = [];
  readonly apiKey: string;
  private readonly faults = new Map<string, { status: number; message: string; times: number }>();
  private readonly sandboxes = new Map<string, FakeSandbox>();
  private readonly maxTimeoutSeconds: number;
  private readonly resumeDelayMs: number;
  private readonly apiLatencyMs: number;
  private limiter: Required<Omit<FakeRateLimit, "sandboxIds">> & { sandboxIds: Set<string>; owed: number } = {
    sandboxIds: new Set(),
    burst: 0,
    fraction: 0,
    retryAfterSeconds: null,
    owed: 0,
  };
  private inFlight = 0;
  private stats: FakeApiStats = { maxInFlight: 0, rateLimited: 0, requests: 0 };
  private server!: http.Server;
  private root!: string;
  private ownRoot = false;
  url = "";

  private constructor(opts: FakeE2BOptions) {
    this.apiKey = opts.apiKey ?? FAKE_E2B_API_KEY;
    this.maxTimeoutSeconds = opts.maxTimeoutSeconds ?? 3600;
    this.resumeDelayMs = opts.resumeDelayMs ?? 0;
    this.apiLatencyMs = opts.apiLatencyMs ?? 0;
  }

  /** From now on the REST API refuses calls with 429 as `limit` says; `rateLimit({})` ends it. */
  rateLimit(limit: FakeRateLimit) {
    this.limiter = {
      sandboxIds: new Set(limit.sandboxIds),
      burst: limit.burst ?? 0,
      fraction: limit.fraction ?? 0,
      retryAfterSeconds: limit.retryAfterSeconds ?? null,
      owed: 0,
    };
  }

  get apiStats(): FakeApiStats {
    return { ...this.stats };
  }

  resetApiStats() {
    this.stats = { maxInFlight: 0, rateLimited: 0, requests: 0 };
  }

  /**
   * `count` running sandboxes that exist only as records (see the class comment), created as if
   * by this metadata and timeout: the ids, in order.
   */
  addLightSandboxes(count: number, { metadata = {}, timeoutSeconds = 300 }: LightSandboxSpec = {}): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = newSandboxId();
      const startedAt = new Date();
      const s: FakeSandbox = {
        id,
        templateID: "base",
        metadata: typeof metadata === "function" ? metadata(i) : metadata,
        envVars: {},
        network: undefined,
        allowInternetAccess: undefined,
        envdAccessToken: randomUUID(),
        trafficAccessToken: undefined,
        startedAt,
        endAt: startedAt,
        dir: "",
        light: true,
        holderPid: 0,
        netns: "",
        procs: new Map(),
        streams: new Set(),
        state: "running",
      };
      this.sandboxes.set(id, s);
      this.setEnd(s, startedAt.getTime() + timeoutSeconds * 1000);
      ids.push(id);
    }
    return ids;
  }

  /**
   * The next `times` calls of a REST route (as `"DELETE sandboxes/:id"`, `"POST sandboxes/:id/timeout"`,
   * `"POST v2/sandboxes"`) answer `status` with E2B's error body, as E2B does when it is failing.
   */
  failNext(route: string, status: number, times = 1, message = "Internal server error") {
    this.faults.set(route, { status, message, times });
  }

  /** Whether this machine can run the fake: root, unshare, nsenter and ip. */
  static supported(): { ok: boolean; reason?: string } {
    if (process.platform !== "linux") return { ok: false, reason: "the fake E2B needs Linux namespaces" };
    if (process.getuid?.() !== 0) return { ok: false, reason: "the fake E2B needs root (it creates namespaces)" };
    for (const bin of ["unshare", "nsenter", "ip", "mount"]) {
      if (!which(bin)) return { ok: false, reason: `the fake E2B needs ${bin}` };
    }
    return { ok: true };
  }

  static async start(opts: FakeE2BOptions = {}): Promise<FakeE2B> {
    const fake = new FakeE2B(opts);
    fake.ownRoot = !opts.root;
    fake.root = opts.root ?? tempDir("fake-e2b-");
    fs.mkdirSync(fake.root, { recursive: true });
    fake.server = http.createServer((req, res) => {
      fake.handle(req, res).catch((err) => {
        if (!res.headersSent) json(res, 500, { code: 500, message: String((err as Error)?.message ?? err) });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as net.AddressInfo).port}`;
    return fake;
  }

  /** Settings for E2BProvider / the SDK (E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL, E2B_PORT_URL_TEMPLATE). */
  get connection() {
    return {
      apiKey: this.apiKey,
      apiUrl: this.url,
      sandboxUrl: this.url,
      portUrlTemplate: `${this.url}/ports/{sandboxId}/{port}`,
    };
  }

  /** Berth's environment for E2B sandboxes from this fake. */
  berthEnv(): Record<string, string> {
    const c = this.connection;
    return {
      SANDBOX_PROVIDER: "e2b",
      E2B_API_KEY: c.apiKey,
      E2B_API_URL: c.apiUrl,
      E2B_SANDBOX_URL: c.sandboxUrl,
      E2B_PORT_URL_TEMPLATE: c.portUrlTemplate,
    };
  }

  sandboxIds(): string[] {
    return [...this.sandboxes.values()].filter((s) => s.state === "running").map((s) => s.id);
  }

  pausedSandboxIds(): string[] {
    return [...this.sandboxes.values()].filter((s) => s.state === "paused").map((s) => s.id);
  }

  sandbox(id: string): FakeSandboxView | undefined {
    const s = this.running(id);
    if (!s) return undefined;
    const { metadata, envVars, network, allowInternetAccess, startedAt, endAt } = s;
    return { id, metadata, envVars, network, allowInternetAccess, startedAt, endAt, home: path.join(s.dir, "home") };
  }

  /** The processes running in a sandbox, with their command lines (host pids). */
  processes(id: string): { pid: number; cmdline: string[] }[] {
    const s = this.reachable(id);
    if (!s) return [];
    return pidsInNetns(s.netns)
      .filter((pid) => pid !== s.holderPid)
      .flatMap((pid) => {
        try {
          const raw = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
          return [{ pid, cmdline: raw.split("\0").filter(Boolean) }];
        } catch {
          return [];
        }
      });
  }

  /** Ends a sandbox as if its VM vanished (no end events, connections cut). */
  async crash(id: string) {
    const s = this.sandboxes.get(id);
    if (s) await this.destroy(s, "crash");
  }

  async close() {
    await Promise.all([...this.sandboxes.values()].map((s) => this.destroy(s, "close")));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.ownRoot) fs.rmSync(this.root, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- routing

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://fake");
    const p = url.pathname;
    if (p.startsWith("/ports/")) return this.proxy(req, res, url);
    if (req.headers["e2b-sandbox-id"]) return this.envd(req, res, url);
    return this.rest(req, res, url);
  }

  private record(call: Omit<FakeCall, "at">) {
    const entry = { at: Date.now(), ...call };
    this.calls.push(entry);
    return entry;
  }

  // ---------------------------------------------------------------- REST API

  private async rest(req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
    this.stats.requests++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, ++this.inFlight);
    try {
      if (this.apiLatencyMs) await new Promise((r) => setTimeout(r, this.apiLatencyMs));
      await this.restAnswer(req, res, url);
    } finally {
      this.inFlight--;
    }
  }

  /** Whether this call (on this sandbox, if any) is one the rate limit refuses. */
  private limited(sandboxId: string | undefined) {
    const l = this.limiter;
    if (sandboxId && l.sandboxIds.has(sandboxId)) return true;
    if (l.burst > 0) {
      l.burst--;
      return true;
    }
    l.owed += l.fraction;
    if (l.owed < 1) return false;
    l.owed -= 1;
    return true;
  }

  private async restAnswer(req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
    const method = req.method ?? "GET";
    const raw = await readBody(req);
    let body: any;
    try {
      body = raw.length ? JSON.parse(raw.toString("utf8")) : undefined;
    } catch {
      return json(res, 400, { code: 400, message: "invalid JSON body" });
    }
    const call = this.record({ api: "rest", method, path: url.pathname + url.search, body });
    const reply = (status: number, payload?: unknown) => {
      call.status = status;
      if (payload === undefined) {
        res.writeHead(status).end();
        return;
      }
      json(res, status, payload);
    };
    if (req.headers["x-api-key"] !== this.apiKey) return reply(401, { code: 401, message: "Invalid API key" });

    const one = /^\/(v2\/)?sandboxes\/([^/]+)(\/\w+)?$/.exec(url.pathname);
    const route = one ? `${method} ${one[1] ?? ""}sandboxes/:id${one[3] ?? ""}` : "";
    const sid = one?.[2] as string;
    if (sid) call.sandboxId = sid;
    if (this.limited(sid)) {
      this.stats.rateLimited++;
      const after = this.limiter.retryAfterSeconds;
      if (after !== null) res.setHeader("retry-after", String(after));
      return reply(429, { code: 429, message: "Rate limit exceeded" });
    }
    const fault = this.faults.get(route || `${method} ${url.pathname.slice(1)}`);
    if (fault && fault.times > 0) {
      fault.times--;
      return reply(fault.status, { code: fault.status, message: fault.message });
    }
    if (method === "POST" && url.pathname === "/v2/sandboxes") {
      const timeout = body?.timeout ?? 15;
      if (timeout > this.maxTimeoutSeconds) {
        return reply(400, {
          code: 400,
          message: `Timeout cannot be greater than ${this.maxTimeoutSeconds / 3600} hours`,
        });
      }
      const s = await this.createSandbox(body ?? {}, timeout);
      call.sandboxId = s.id;
      return reply(201, this.sandboxJson(s));
    }
    if (method === "GET" && url.pathname === "/v2/sandboxes") {
      const wanted = new URLSearchParams(url.searchParams.get("metadata") ?? "");
      const states = (url.searchParams.get("state") ?? "running,paused").split(",");
      const all = [...this.sandboxes.values()]
        .filter((s) => s.state !== "killed" && states.includes(s.state))
        .filter((s) => [...wanted].every(([k, v]) => s.metadata[k] === v))
        .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
      const limit = Number(url.searchParams.get("limit") ?? 100);
      const offset = Number(url.searchParams.get("nextToken") ?? 0);
      const page = all.slice(offset, offset + limit);
      if (offset + limit < all.length) res.setHeader("x-next-token", String(offset + limit));
      return reply(
        200,
        page.map((s) => this.listedJson(s)),
      );
    }
    const s = sid ? this.running(sid) : undefined;
    const known = sid ? this.sandboxes.get(sid) : undefined;
    const missing = { code: 404, message: `sandbox "${sid}" doesn't exist or you don't have access to it` };
    if (route === "POST sandboxes/:id/pause") {
      if (known?.state === "paused") return reply(409, { code: 409, message: `sandbox "${sid}" is already paused` });
      if (!s) return reply(404, missing);
      if (!s.light) this.signalAll(s, "SIGSTOP");
      s.state = "paused";
      clearTimeout(s.timer); // a paused sandbox has no timeout running
      for (const res of s.streams) res.destroy(); // like the VM's: its connections are cut
      s.streams.clear();
      this.record({ api: "lifecycle", method: "pause", path: "", sandboxId: s.id });
      return reply(204);
    }
    if (route === "POST v2/sandboxes/:id/connect" && known?.state === "paused") {
      await new Promise((r) => setTimeout(r, this.resumeDelayMs));
      if (known.state !== "paused") return reply(404, missing); // killed meanwhile
      known.state = "running";
      if (!known.light) this.signalAll(known, "SIGCONT");
      this.setEnd(known, Date.now() + (typeof body?.timeout === "number" ? body.timeout : 300) * 1000);
      this.record({ api: "lifecycle", method: "resume", path: "", sandboxId: known.id });
      return reply(201, this.sandboxJson(known));
    }
    if (route === "POST v2/sandboxes/:id/connect") {
      if (!s) return reply(404, missing);
      if (typeof body?.timeout === "number") {
        this.setEnd(s, Math.max(s.endAt.getTime(), Date.now() + body.timeout * 1000));
      }
      return reply(200, this.sandboxJson(s));
    }
    if (route === "POST sandboxes/:id/timeout") {
      if (!s) return reply(404, missing);
      const timeout = Number(body?.timeout);
      if (!Number.isFinite(timeout) || timeout < 0) return reply(400, { code: 400, message: "invalid timeout" });
      if (timeout > this.maxTimeoutSeconds) {
        return reply(400, {
          code: 400,
          message: `Timeout cannot be greater than ${this.maxTimeoutSeconds / 3600} hours`,
        });
      }
      this.setEnd(s, Date.now() + timeout * 1000);
      return reply(204);
    }
    if (route === "GET sandboxes/:id") {
      if (!known || known.state === "killed") return reply(404, missing);
      return reply(200, { ...this.listedJson(known), envdAccessToken: known.envdAccessToken, domain: null });
    }
    if (route === "DELETE sandboxes/:id") {
      if (!known || known.state === "killed") return reply(404, missing);
      await this.destroy(known, "kill");
      return reply(204);
    }
    return reply(404, { code: 404, message: `no route ${method} ${url.pathname}` });
  }

  private sandboxJson(s: FakeSandbox) {
    return {
      sandboxID: s.id,
      templateID: s.templateID,
      clientID: "fake",
      envdVersion: ENVD_VERSION,
      envdAccessToken: s.envdAccessToken,
      trafficAccessToken: s.trafficAccessToken ?? null,
      domain: null,
    };
  }

  private listedJson(s: FakeSandbox) {
    return {
      sandboxID: s.id,
      templateID: s.templateID,
      alias: s.templateID,
      clientID: "fake",
      startedAt: s.startedAt.toISOString(),
      endAt: s.endAt.toISOString(),
      cpuCount: 2,
      memoryMB: 512,
      diskSizeMB: 1024,
      metadata: s.metadata,
      state: s.state,
      envdVersion: ENVD_VERSION,
    };
  }

  private running(id: string) {
    const s = this.sandboxes.get(id);
    return s && s.state === "running" ? s : undefined;
  }

  /** A running sandbox that runs something (a light one has no envd and no ports to reach). */
  private reachable(id: string) {
    const s = this.running(id);
    return s && !s.light ? s : undefined;
  }

  private async createSandbox(body: any, timeout: number): Promise<FakeSandbox> {
    const id = newSandboxId();
    const dir = fs.mkdtempSync(path.join(this.root, `${id}-`));
    const home = path.join(dir, "home");
    fs.mkdirSync(home, { mode: 0o755 });
    const holder = spawn(
      "unshare",
      [
        "--net",
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        NAMESPACE_SETUP,
        "sh",
        home,
        PROJECT_NODE_MODULES,
        FORWARDER,
        FORWARD_SOCKET,
        PROJECT_FIXTURES,
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        env: { PATH: SANDBOX_PATH } as Record<string, string> as NodeJS.ProcessEnv,
      },
    );
    await new Promise<void>((resolve, reject) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => reject(new Error(`sandbox ${id} did not come up: ${err}`)), 15_000);
      holder.stderr?.on("data", (d) => {
        err += d;
      });
      holder.stdout?.on("data", (d) => {
        out += d;
        if (out.includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      holder.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`sandbox ${id} setup failed (${code}): ${err}`));
      });
    });
    const holderPid = holder.pid as number;
    const netns = fs.readlinkSync(`/proc/${holderPid}/ns/net`);
    if (netns === fs.readlinkSync("/proc/self/ns/net")) {
      // Never: killing "every process of the sandbox" would then kill the host's.
      holder.kill("SIGKILL");
      throw new Error(`sandbox ${id} did not get its own network namespace`);
    }
    const network = body.network as Record<string, unknown> | undefined;
    const s: FakeSandbox = {
      id,
      templateID: body.templateID ?? "base",
      metadata: body.metadata ?? {},
      envVars: body.envVars ?? {},
      network,
      allowInternetAccess: body.allow_internet_access,
      envdAccessToken: randomUUID(),
      trafficAccessToken: network?.allowPublicTraffic === false ? randomUUID() : undefined,
      startedAt: new Date(),
      endAt: new Date(Date.now() + timeout * 1000),
      dir,
      light: false,
      holder,
      holderPid,
      netns,
      procs: new Map(),
      streams: new Set(),
      state: "running",
    };
    holder.once("exit", () => {
      if (s.state !== "killed") void this.destroy(s, "crash");
    });
    this.sandboxes.set(id, s);
    this.setEnd(s, s.endAt.getTime());
    return s;
  }

  private setEnd(s: FakeSandbox, endAt: number) {
    s.endAt = new Date(endAt);
    clearTimeout(s.timer);
    s.timer = setTimeout(() => void this.destroy(s, "timeout"), Math.max(0, endAt - Date.now()));
    s.timer.unref();
  }

  /** Every process of the sandbox but its namespace holder. */
  private signalAll(s: FakeSandbox, signal: NodeJS.Signals) {
    for (const pid of pidsInNetns(s.netns)) {
      if (pid === s.holderPid) continue;
      try {
        process.kill(pid, signal);
      } catch {
        // gone already
      }
    }
  }

  /** The end of a sandbox: every process in it is killed, connections to it are cut, its dir removed. */
  private async destroy(s: FakeSandbox, reason: string) {
    if (s.state === "killed") return;
    s.state = "killed";
    clearTimeout(s.timer);
    this.record({ api: "lifecycle", method: reason, path: "", sandboxId: s.id });
    if (s.light) {
      this.sandboxes.delete(s.id);
      return;
    }
    for (const res of s.streams) res.destroy();
    s.streams.clear();
    for (const pid of pidsInNetns(s.netns)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    const children = [...s.procs.values()].map((p) => p.child);
    const gone = (s.holder ? [s.holder, ...children] : children).map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          setTimeout(resolve, 2000).unref();
        }),
    );
    await Promise.all(gone);
    this.sandboxes.delete(s.id);
    fs.rmSync(s.dir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- envd

  private async envd(req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
    const id = String(req.headers["e2b-sandbox-id"]);
    const raw = await readBody(req);
    const s = this.reachable(id);
    const call = this.record({ api: "envd", method: req.method ?? "GET", path: url.pathname, sandboxId: id });
    if (!s) {
      call.status = 502;
      return json(res, 502, { sandboxId: id, message: "The sandbox was not found", code: 502 });
    }
    if (req.headers["x-access-token"] !== s.envdAccessToken) {
      call.status = 401;
      return json(res, 401, { code: 401, message: "invalid access token" });
    }
    const p = url.pathname;
    if (p === "/health") return res.writeHead(204).end();
    if (p === "/files") return this.files(s, req, res, url, raw);
    const rpc = /^\/(process\.Process|filesystem\.Filesystem)\/(\w+)$/.exec(p);
    if (!rpc || req.method !== "POST") return json(res, 404, { code: 404, message: `no route ${p}` });
    const [, service, method] = rpc;
    const streaming = String(req.headers["content-type"] ?? "").startsWith("application/connect+json");
    let msg: any;
    try {
      msg = JSON.parse((streaming ? unenvelope(raw) : raw).toString("utf8") || "{}");
    } catch {
      return connectError(res, streaming, "invalid_argument", "cannot parse the request");
    }
    call.body = msg;
    if (service === "process.Process") {
      if (method === "Start") return this.start(s, req, res, msg);
      if (method === "Connect") return this.connect(s, req, res, msg);
      return this.processUnary(s, res, method as string, msg);
    }
    return this.filesystem(s, res, method as string, msg);
  }

  private spawnIn(s: FakeSandbox, cfg: Proc["config"], withStdin: boolean) {
    const env: Record<string, string> = {
      PATH: pathWithNode(),
      HOME: "/home/user",
      USER: "user",
      LOGNAME: "user",
      ...s.envVars,
      ...cfg.envs,
    };
    // Like envd: a small shell wrapper in the sandbox's namespaces that execs the command.
    return spawn(
      "nsenter",
      [
        "--target",
        String(s.holderPid),
        "--net",
        "--mount",
        "--",
        "/bin/sh",
        "-c",
        'cd "$1" || exit 1; shift; exec "$@"',
        "sh",
        cfg.cwd ?? "/home/user",
        cfg.cmd,
        ...cfg.args,
      ],
      { env: env as NodeJS.ProcessEnv, stdio: [withStdin ? "pipe" : "ignore", "pipe", "pipe"] },
    );
  }

  private start(s: FakeSandbox, req: http.IncomingMessage, res: http.ServerResponse, msg: any) {
    const pc = msg.process ?? {};
    const cfg = { cmd: String(pc.cmd ?? ""), args: (pc.args ?? []) as string[], envs: pc.envs ?? {}, cwd: pc.cwd };
    const cwd = cfg.cwd ?? "/home/user";
    if (!fs.existsSync(`/proc/${s.holderPid}/root${path.posix.resolve("/home/user", cwd)}`)) {
      return connectError(res, true, "invalid_argument", `cwd '${cwd}' does not exist`);
    }
    const withStdin = msg.stdin === undefined || msg.stdin === true;
    const child = this.spawnIn(s, cfg, withStdin);
    const proc: Proc = { pid: child.pid as number, child, config: cfg, tag: msg.tag, listeners: new Set() };
    s.procs.set(proc.pid, proc);
    const emit = (event: ProcEvent) => {
      for (const l of proc.listeners) l(event);
    };
    child.stdout?.on("data", (d: Buffer) => emit({ data: { stdout: d.toString("base64") } }));
    child.stderr?.on("data", (d: Buffer) => emit({ data: { stderr: d.toString("base64") } }));
    child.stdin?.on("error", () => {});
    let deadline: NodeJS.Timeout | undefined;
    const timeoutMs = Number(req.headers["connect-timeout-ms"] ?? 0);
    if (timeoutMs > 0) deadline = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code, signal) => {
      clearTimeout(deadline);
      s.procs.delete(proc.pid);
      emit({ end: endEvent(code, signal) });
      proc.listeners.clear();
    });
    this.stream(s, req, res, proc);
  }

  private connect(s: FakeSandbox, req: http.IncomingMessage, res: http.ServerResponse, msg: any) {
    const proc = this.findProc(s, msg.process);
    if (!proc) return connectError(res, true, "not_found", "process not found");
    this.stream(s, req, res, proc);
  }

  /** A server stream: the start event, then the process's output and end, then the trailer. */
  private stream(s: FakeSandbox, req: http.IncomingMessage, res: http.ServerResponse, proc: Proc) {
    res.writeHead(200, { "content-type": "application/connect+json" });
    s.streams.add(res);
    const send = (event: ProcEvent) => res.write(envelope(0, { event }));
    send({ start: { pid: proc.pid } });
    const interval = Number(req.headers["keepalive-ping-interval"] ?? 0);
    const keepalive = interval > 0 ? setInterval(() => send({ keepalive: {} }), interval * 1000) : undefined;
    const listener = (event: ProcEvent) => {
      send(event);
      if ("end" in event) finish();
    };
    const finish = () => {
      clearInterval(keepalive);
      proc.listeners.delete(listener);
      s.streams.delete(res);
      if (!res.writableEnded && !res.destroyed) res.end(envelope(2, {}));
    };
    proc.listeners.add(listener);
    res.on("close", finish);
  }

  private findProc(s: FakeSandbox, selector: any): Proc | undefined {
    if (selector?.pid !== undefined) return s.procs.get(Number(selector.pid));
    if (selector?.tag !== undefined) return [...s.procs.values()].find((p) => p.tag === selector.tag);
    return undefined;
  }

  private processUnary(s: FakeSandbox, res: http.ServerResponse, method: string, msg: any) {
    if (method === "List") {
      const processes = [...s.procs.values()].map((p) => ({
        config: {
          cmd: p.config.cmd,
          args: p.config.args,
          envs: p.config.envs,
          ...(p.config.cwd ? { cwd: p.config.cwd } : {}),
        },
        pid: p.pid,
        ...(p.tag ? { tag: p.tag } : {}),
      }));
      return json(res, 200, { processes });
    }
    const proc = this.findProc(s, msg.process);
    if (!proc) return connectError(res, false, "not_found", "process not found");
    if (method === "SendInput") {
      const data = msg.input?.stdin ?? msg.input?.pty;
      if (!proc.child.stdin || proc.child.stdin.writableEnded) {
        return connectError(res, false, "failed_precondition", "stdin not enabled or closed");
      }
      proc.child.stdin.write(Buffer.from(String(data ?? ""), "base64"));
      return json(res, 200, {});
    }
    if (method === "CloseStdin") {
      proc.child.stdin?.end();
      return json(res, 200, {});
    }
    if (method === "SendSignal") {
      const sig = msg.signal === "SIGNAL_SIGTERM" || msg.signal === 15 ? "SIGTERM" : "SIGKILL";
      proc.child.kill(sig);
      return json(res, 200, {});
    }
    if (method === "Update") return json(res, 200, {});
    return connectError(res, false, "unimplemented", `process.Process/${method} is not implemented by the fake`);
  }

  // ---------------------------------------------------------------- filesystem

  /** The host path of a sandbox path, seen through the sandbox's mount namespace. */
  private hostPath(s: FakeSandbox, p: string): string | undefined {
    const abs = path.posix.resolve("/home/user", p || ".");
    if (!(abs === "/home/user" || abs.startsWith("/home/user/") || abs === "/tmp" || abs.startsWith("/tmp/"))) {
      return undefined;
    }
    return `/proc/${s.holderPid}/root${abs}`;
  }

  private async files(s: FakeSandbox, req: http.IncomingMessage, res: http.ServerResponse, url: URL, raw: Buffer) {
    const method = req.method ?? "GET";
    if (method === "GET") {
      const p = url.searchParams.get("path") ?? "";
      const host = this.hostPath(s, p);
      if (!host) return json(res, 403, { code: 403, message: `permission denied: ${p}` });
      let data: Buffer;
      try {
        data = fs.readFileSync(host);
      } catch {
        return json(res, 404, { code: 404, message: `path '${p}' does not exist` });
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": data.length });
      return res.end(data);
    }
    if (method !== "POST") return json(res, 405, { code: 405, message: "method not allowed" });
    const uploads: { path: string; data: Buffer }[] = [];
    const type = String(req.headers["content-type"] ?? "");
    if (type.startsWith("multipart/form-data")) {
      const form = await new Response(new Uint8Array(raw), { headers: { "content-type": type } }).formData();
      for (const [, value] of form.entries()) {
        if (typeof value === "string") continue;
        const target = url.searchParams.get("path") || value.name;
        uploads.push({ path: target, data: Buffer.from(await value.arrayBuffer()) });
      }
    } else {
      uploads.push({ path: url.searchParams.get("path") ?? "", data: raw });
    }
    const written = [];
    for (const u of uploads) {
      const host = this.hostPath(s, u.path);
      if (!host) return json(res, 403, { code: 403, message: `permission denied: ${u.path}` });
      fs.mkdirSync(path.dirname(host), { recursive: true });
      fs.writeFileSync(host, u.data);
      const abs = path.posix.resolve("/home/user", u.path);
      written.push({ name: path.posix.basename(abs), type: "file", path: abs });
    }
    return json(res, 200, written);
  }

  private filesystem(s: FakeSandbox, res: http.ServerResponse, method: string, msg: any) {
    const resolve = (p: string) => {
      const host = this.hostPath(s, p);
      if (!host) throw Object.assign(new Error(`permission denied: ${p}`), { connectCode: "permission_denied" });
      return { host, abs: path.posix.resolve("/home/user", p) };
    };
    try {
      if (method === "Stat") {
        const { host, abs } = resolve(msg.path);
        if (!fs.existsSync(host)) return connectError(res, false, "not_found", `path '${abs}' does not exist`);
        return json(res, 200, { entry: entryInfo(host, abs) });
      }
      if (method === "MakeDir") {
        const { host, abs } = resolve(msg.path);
        if (fs.existsSync(host)) return connectError(res, false, "already_exists", `path '${abs}' already exists`);
        fs.mkdirSync(host, { recursive: true });
        return json(res, 200, { entry: entryInfo(host, abs) });
      }
      if (method === "ListDir") {
        const { host, abs } = resolve(msg.path);
        if (!fs.existsSync(host)) return connectError(res, false, "not_found", `path '${abs}' does not exist`);
        const entries = fs.readdirSync(host).map((n) => entryInfo(path.join(host, n), path.posix.join(abs, n)));
        return json(res, 200, { entries });
      }
      if (method === "Remove") {
        const { host } = resolve(msg.path);
        fs.rmSync(host, { recursive: true, force: true });
        return json(res, 200, {});
      }
      if (method === "Move") {
        const from = resolve(msg.source);
        const to = resolve(msg.destination);
        fs.renameSync(from.host, to.host);
        return json(res, 200, { entry: entryInfo(to.host, to.abs) });
      }
    } catch (err) {
      const code = (err as { connectCode?: string }).connectCode ?? "internal";
      return connectError(res, false, code, (err as Error).message);
    }
    return connectError(res, false, "unimplemented", `filesystem.Filesystem/${method} is not implemented by the fake`);
  }

  // ---------------------------------------------------------------- ports

  private proxy(req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
    const m = /^\/ports\/([^/]+)\/(\d+)(\/.*)?$/.exec(url.pathname);
    const id = m?.[1] ?? "";
    const port = Number(m?.[2]);
    const call = this.record({ api: "port", method: req.method ?? "GET", path: url.pathname, sandboxId: id });
    const s = this.reachable(id);
    const fail = (status: number, message: string) => {
      call.status = status;
      json(res, status, { sandboxId: id, message, code: status });
    };
    if (!s) return fail(502, "The sandbox was not found");
    if (s.trafficAccessToken && req.headers["e2b-traffic-access-token"] !== s.trafficAccessToken) {
      return fail(
        403,
        "Sandbox is secured with traffic access token. Token header 'e2b-traffic-access-token' is missing",
      );
    }
    const headers = { ...req.headers };
    delete headers["e2b-traffic-access-token"];
    const upstream = http.request(
      {
        method: req.method,
        path: `${m?.[3] ?? "/"}${url.search}`,
        headers,
        createConnection: () => {
          const sock = net.connect(`/proc/${s.holderPid}/root${FORWARD_SOCKET}`);
          sock.write(`${port}\n`);
          return sock;
        },
      },
      (up) => {
        call.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.flushHeaders();
        up.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) fail(502, "The sandbox is running but port is not open");
      else res.destroy();
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }
}

/**
 * Runs as `sh -c NAMESPACE_SETUP sh <home> <node_modules> <forwarder> <socket> <fixtures>` under
 * `unshare --net --mount`: loopback up, host root read-only, /home/user = the sandbox dir,
 * Berth's node_modules at /home/node_modules and its tests/fixtures at /home/fixtures (read-only),
 * a private /tmp; then the port forwarder.
 */
const NAMESPACE_SETUP = `set -e
ip link set lo up
mount -t tmpfs -o mode=755 tmpfs /home
mkdir -p /home/user /home/node_modules /home/fixtures
mount --bind "$1" /home/user
mount --bind "$2" /home/node_modules
mount -o remount,bind,ro /home/node_modules
mount --bind "$5" /home/fixtures
mount -o remount,bind,ro /home/fixtures
mount -o remount,bind,ro /
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec "${process.execPath}" -e "$3" "$4"`;

/** Inside the namespace: each Unix-socket connection starts with "<port>\\n", then is piped to 127.0.0.1:<port>. */
const FORWARDER = `
const net = require("net"), fs = require("fs"), p = process.argv[1];
try { fs.unlinkSync(p) } catch {}
net.createServer((c) => {
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    const i = buf.indexOf(10);
    if (i < 0) return;
    c.off("data", onData);
    c.pause();
    const rest = buf.subarray(i + 1);
    const t = net.connect(Number(buf.subarray(0, i).toString()), "127.0.0.1");
    t.on("connect", () => { if (rest.length) t.write(rest); c.pipe(t); t.pipe(c); c.resume(); });
    t.on("error", () => c.destroy());
    c.on("error", () => t.destroy());
    c.on("close", () => t.destroy());
  };
  c.on("data", onData);
}).listen(p, () => console.log("ready"));
`;

// ---------------------------------------------------------------- helpers

/** Go's os.ProcessState as envd reports it. */
function endEvent(code: number | null, signal: NodeJS.Signals | null) {
  if (signal) {
    const names: Record<string, string> = { SIGKILL: "killed", SIGTERM: "terminated", SIGINT: "interrupt" };
    const status = `signal: ${names[signal] ?? signal}`;
    return { exitCode: -1, exited: false, status, error: status };
  }
  const status = `exit status ${code}`;
  return { exitCode: code ?? 0, exited: true, status, ...(code ? { error: status } : {}) };
}

function entryInfo(host: string, abs: string) {
  const st = fs.lstatSync(host);
  return {
    name: path.posix.basename(abs),
    type: st.isDirectory() ? "FILE_TYPE_DIRECTORY" : st.isSymbolicLink() ? "FILE_TYPE_SYMLINK" : "FILE_TYPE_FILE",
    path: abs,
    size: String(st.size),
    mode: st.mode & 0o777,
    permissions: (st.mode & 0o777).toString(8),
    owner: "user",
    group: "user",
    modifiedTime: st.mtime.toISOString(),
  };
}

function envelope(flags: number, message: unknown) {
  const data = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

function unenvelope(raw: Buffer) {
  if (raw.length < 5) return Buffer.alloc(0);
  return raw.subarray(5, 5 + raw.readUInt32BE(1));
}

const CONNECT_STATUS: Record<string, number> = {
  invalid_argument: 400,
  failed_precondition: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  resource_exhausted: 429,
  internal: 500,
  unimplemented: 501,
  unavailable: 503,
  deadline_exceeded: 504,
};

function connectError(res: http.ServerResponse, streaming: boolean, code: string, message: string) {
  if (streaming) {
    res.writeHead(200, { "content-type": "application/connect+json" });
    return res.end(envelope(2, { error: { code, message } }));
  }
  return json(res, CONNECT_STATUS[code] ?? 500, { code, message });
}

function json(res: http.ServerResponse, status: number, payload: unknown) {
  const body = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export type LightSandboxSpec = {
  /** The same for all, or the i-th one's. */
  metadata?: Record<string, string> | ((i: number) => Record<string, string>);
  timeoutSeconds?: number;
};

function newSandboxId() {
  return randomBytes(10).toString("hex").replace(/^\d/, "s");
}

function pidsInNetns(netns: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/ns/net`) === netns) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function pathWithNode() {
  const dir = path.dirname(process.execPath);
  return SANDBOX_PATH.split(":").includes(dir) ? SANDBOX_PATH : `${dir}:${SANDBOX_PATH}`;
}

function which(bin: string) {
  return (process.env.PATH ?? SANDBOX_PATH)
    .split(":")
    .concat(["/usr/sbin", "/sbin"])
    .some((d) => fs.existsSync(path.join(d, bin)));
}
