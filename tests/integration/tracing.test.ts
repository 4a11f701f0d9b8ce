import http from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BerthServer, newAccount, startBerth } from "../support/berth-server";
import { until } from "../support/until";

type Value = { stringValue?: string; intValue?: string | number; boolValue?: boolean };
type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Value }[];
};
type Span = OtlpSpan & { attrs: Record<string, unknown>; service: unknown };

const SERVER_KIND = 2; // OTLP's SPAN_KIND_SERVER

/** A local OTLP/HTTP receiver (JSON): what Berth's exporter sends, as it sent it. */
async function startReceiver() {
  const spans: Span[] = [];
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      bodies.push(body);
      if (req.url === "/v1/traces" && req.headers["content-type"]?.startsWith("application/json")) {
        const flat = (list: { key: string; value: Value }[] = []) =>
          Object.fromEntries(list.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.boolValue]));
        for (const rs of JSON.parse(body).resourceSpans ?? []) {
          const service = flat(rs.resource?.attributes)["service.name"];
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans as OtlpSpan[]) spans.push({ ...s, attrs: flat(s.attributes), service });
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, bodies, server };
}

describe("OpenTelemetry traces", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let berth: BerthServer;
  let account: Awaited<ReturnType<typeof newAccount>>;
  let connectionId: string;
  const MARKER = "an-argument-that-must-not-be-exported";

  beforeAll(async () => {
    receiver = await startReceiver();
    berth = await startBerth({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
    });
    account = await newAccount(berth, "Traced");
  });
  afterAll(async () => {
    await berth?.stop();
    receiver?.server.close();
  });

  it("links install → deploy → sandbox create and initialize in one trace", async () => {
    const res = await account.call("POST", "/api/mcp-connections/install", {
      account_id: account.accountId,
      server_id: "memory",
    });
    expect(res.body.data.status).toBe("running");
    connectionId = res.body.data.id;

    const deploy = await until("the deploy span", () =>
      receiver.spans.find((s) => s.name === "berth.deploy" && s.attrs["berth.connection.id"] === connectionId),
    );
    const install = await until("the install span", () =>
      receiver.spans.find((s) => s.name === "POST /api/mcp-connections/install"),
    );
    expect(install).toMatchObject({ kind: SERVER_KIND, service: "berth" });
    expect(install.attrs).toMatchObject({ "http.request.method": "POST", "http.response.status_code": 201 });
    expect(deploy.parentSpanId).toBe(install.spanId);
    expect(deploy.traceId).toBe(install.traceId);
    expect(deploy.attrs).toMatchObject({ "berth.server.slug": "memory", "berth.connection.status": "running" });
    for (const name of ["berth.sandbox.create", "initialize"]) {
      const child = await until(name, () =>
        receiver.spans.find((s) => s.name === name && s.parentSpanId === deploy.spanId),
      );
      expect(child.traceId).toBe(install.traceId);
    }
  });

  it("traces each MCP request through the gateway with its method and tool, never its arguments", async () => {
    const client = new Client({ name: "trace-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${berth.url}/api/mcp/${connectionId}`), {
        requestInit: { headers: { authorization: `Bearer ${account.key}` } },
      }),
    );
    await client.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: MARKER, entityType: "test", observations: [MARKER] }] },
    });
    await client.close();

    const call = await until("the tools/call span", () =>
      receiver.spans.find((s) => s.name === "tools/call create_entities"),
    );
    expect(call.kind).toBe(SERVER_KIND);
    expect(call.attrs).toMatchObject({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "create_entities",
      "berth.connection.id": connectionId,
      "berth.server.slug": "memory",
      "http.route": "/api/mcp/:id",
      "http.response.status_code": 200,
    });
    expect(receiver.spans.some((s) => s.name === "initialize" && s.attrs["berth.connection.id"] === connectionId)).toBe(
      true,
    );
    const exported = receiver.bodies.join("\n");
    expect(exported).not.toContain(MARKER);
    expect(exported).not.toContain(account.key);
  });

  it("leaves the metrics route off without BERTH_METRICS_TOKEN (404)", async () => {
    const res = await account.call("GET", "/api/metrics");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });
});
