import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Observations } from "@/lib/core/context";
import type { Db } from "@/lib/db/db";
import { connectionCounts, sandboxSecondsByAccount } from "@/lib/db/queries/operations";
import type { ToolCallRecord } from "@/lib/db/queries/tool-calls";

/** Sandbox starts take from a fraction of a second (local) to a minute (E2B, npx installing). */
const START_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type ServerChildren = {
  calls: Counter.Internal;
  errors: Counter.Internal;
  toolErrors: Counter.Internal;
  latency: Histogram.Internal<"server">;
};

/**
 * Berth's Prometheus metrics. Those counted in this process (deploys, wakes, tool calls,
 * maintenance) are per instance; those read from the database at each scrape (connections,
 * sandbox-seconds) are the same on every instance sharing it, and say so with `scope="database"`:
 * aggregate them with max(), not sum().
 */
export class BerthMetrics {
  readonly registry = new Registry();
  private readonly deploys: Histogram<"provider" | "outcome">;
  private readonly wakes: Histogram<"provider">;
  private readonly toolCalls: Counter<"server">;
  private readonly toolCallErrors: Counter<"server" | "kind">;
  private readonly toolCallSeconds: Histogram<"server">;
  /** Label children per server slug, made once: a tool call then costs two increments and an observe. */
  private readonly servers = new Map<string, ServerChildren>();
  private readonly maintenancePasses: Histogram<"outcome">;
  private lastPassEnded: number | undefined;
  private readonly startedAt = Date.now();

  constructor(db: Db) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.deploys = new Histogram({
      name: "berth_deploy_duration_seconds",
      help: "From a deploy's start to its connection running (outcome running) or failed, this instance",
      labelNames: ["provider", "outcome"],
      buckets: START_BUCKETS,
      registers,
    });
    this.wakes = new Histogram({
      name: "berth_wake_duration_seconds",
      help: "From a sleeping connection's wake to its server answering again, this instance",
      labelNames: ["provider"],
      buckets: START_BUCKETS,
      registers,
    });
    this.toolCalls = new Counter({
      name: "berth_tool_calls_total",
      help: "Tool calls answered through the MCP gateway, by server definition slug",
      labelNames: ["server"],
      registers,
    });
    this.toolCallErrors = new Counter({
      name: "berth_tool_call_errors_total",
      help: "Tool calls answered with a JSON-RPC error (kind error) or a tool result marked isError (kind tool_error)",
      labelNames: ["server", "kind"],
      registers,
    });
    this.toolCallSeconds = new Histogram({
      name: "berth_tool_call_duration_seconds",
      help: "From a tool call's arrival upstream to its answer, by server definition slug",
      labelNames: ["server"],
      buckets: CALL_BUCKETS,
      registers,
    });
    this.maintenancePasses = new Histogram({
      name: "berth_maintenance_pass_duration_seconds",
      help: "How long each maintenance pass of this instance took, by outcome (ok or failed)",
      labelNames: ["outcome"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: "berth_maintenance_lag_seconds",
      help: "Seconds since this instance's last completed maintenance pass (since start if none yet)",
      registers,
      collect() {
        this.set((Date.now() - (metrics.lastPassEnded ?? metrics.startedAt)) / 1000);
      },
    });
    new Gauge({
      name: "berth_connections",
      help: "Connections by status and provider (deleted ones left out), read from the database at scrape",
      labelNames: ["status", "provider", "scope"],
      registers,
      async collect() {
        this.reset();
        for (const row of await connectionCounts(db))
          this.labels(row.status, row.provider, "database").set(row.connections);
      },
    });
    new Counter({
      name: "berth_sandbox_seconds_total",
      help: "Seconds sandboxes ran for each account (connections and sandbox-runs; a running one up to now), read from the database at scrape",
      labelNames: ["account_id", "provider", "scope"],
      registers,
      async collect() {
        this.reset();
        for (const row of await sandboxSecondsByAccount(db))
          this.labels(row.account_id, row.provider, "database").inc(row.seconds);
      },
    });
  }

  /** The Prometheus text exposition of every metric. */
  async render() {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** What the core services report (deploy.ts, resume.ts). */
  readonly observations: Observations = {
    deployed: (seconds, provider, outcome) => this.deploys.labels(provider, outcome).observe(seconds),
    woke: (seconds, provider) => this.observeWake(seconds, provider),
  };

  observeWake(seconds: number, provider: string) {
    this.wakes.labels(provider).observe(seconds);
  }

  /** One answered tool call; on the gateway's hot path, so nothing is allocated once its server is known. */
  toolCall(server: string, record: Pick<ToolCallRecord, "outcome" | "durationMs">) {
    let c = this.servers.get(server);
    if (!c) {
      c = {
        calls: this.toolCalls.labels(server),
        errors: this.toolCallErrors.labels(server, "error"),
        toolErrors: this.toolCallErrors.labels(server, "tool_error"),
        latency: this.toolCallSeconds.labels(server),
      };
      this.servers.set(server, c);
    }
    c.calls.inc();
    c.latency.observe(record.durationMs / 1000);
    if (record.outcome === "error") c.errors.inc();
    else if (record.outcome === "tool_error") c.toolErrors.inc();
  }

  /** A maintenance pass ended (`ok`: it completed). */
  maintenancePass(seconds: number, ok: boolean) {
    this.maintenancePasses.labels(ok ? "ok" : "failed").observe(seconds);
    if (ok) this.lastPassEnded = Date.now();
  }
}

const KEY = Symbol.for("berth.metrics");

/**
 * The process's metrics, on globalThis like the app's deps: Next bundles its own copy of every
 * module, and what its server actions set off must land in the same registry.
 */
export function publishMetrics(metrics: BerthMetrics) {
  (globalThis as Record<symbol, unknown>)[KEY] = metrics;
}

function published() {
  return (globalThis as Record<symbol, unknown>)[KEY] as BerthMetrics | undefined;
}

/** A sleeping connection was woken in `seconds` (nothing when metrics are off). */
export function observeWake(seconds: number, provider: string) {
  published()?.observeWake(seconds, provider);
}
