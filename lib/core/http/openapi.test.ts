import { describe, expect, it } from "vitest";
import { buildDocsPage, buildOpenApiDocument } from "./openapi";
import { createRouter, type HttpDeps } from "./route";
import { ROUTES } from "./routes";

const SERVER = "http://berth.test";

type Obj = Record<string, unknown>;
const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((x, k) => (x as Obj | undefined)?.[k], o);

describe("OpenAPI document", () => {
  const doc = buildOpenApiDocument(ROUTES, SERVER);

  it("is OpenAPI 3.1 with the server URL", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: SERVER }]);
  });

  it("is memoized per server URL", () => {
    expect(buildOpenApiDocument(ROUTES, SERVER)).toBe(doc);
    expect(buildOpenApiDocument(ROUTES, "http://other.test").servers).toEqual([{ url: "http://other.test" }]);
  });

  it("documents every route of the table with its method, and nothing else", () => {
    const documented = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item as Obj)
        .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    const table = Object.keys(ROUTES).map((k) => k.replace(/:(\w+)/g, "{$1}"));
    expect(documented.sort()).toEqual(table.sort());
    expect(table.length).toBeGreaterThan(20);
    expect(Object.keys(doc.paths?.["/api/sandbox-runs"] ?? {})).toEqual(["post"]);
  });

  it("has the contract's success statuses, wrapped in data", () => {
    const install = at(doc.paths, "/api/mcp-connections/install", "post", "responses") as Obj;
    expect(Object.keys(install)).toEqual(expect.arrayContaining(["200", "201", "400", "401", "404", "413", "422"]));
    expect(at(install, "201", "content", "application/json", "schema", "properties", "data", "$ref")).toBe(
      "#/components/schemas/Connection",
    );
    expect(at(install, "200", "content", "application/json", "schema", "properties", "data", "$ref")).toBe(
      "#/components/schemas/DryRunResult",
    );
    expect(at(doc.paths, "/api/mcp-connections/{id}/restart", "post", "responses", "202")).toBeDefined();
    expect(at(doc.paths, "/api/mcp-connections/{id}/extend", "post", "responses", "409")).toEqual({
      $ref: "#/components/responses/Conflict",
    });
  });

  it("has the Connection schema with the contract's fields", () => {
    const connection = doc.components?.schemas?.Connection as Obj;
    const fields = [
      "id",
      "account_id",
      "server_id",
      "server_slug",
      "name",
      "status",
      "provider",
      "sandbox_id",
      "mcp_url",
      "keep_alive",
      "created_at",
      "updated_at",
      "expires_at",
      "last_error",
    ];
    expect(Object.keys(connection.properties as Obj)).toEqual(expect.arrayContaining(fields));
    expect(at(connection, "properties", "status", "enum")).toEqual([
      "deploying",
      "running",
      "failed",
      "expired",
      "deleted",
      "auth_required",
      "sleeping",
    ]);
    expect(JSON.stringify(connection)).not.toMatch(/credentials/);
  });

  it("has the Error schema, the request schemas and both security schemes", () => {
    const schemas = doc.components?.schemas ?? {};
    expect(at(schemas, "Error", "properties", "error", "required")).toEqual(
      expect.arrayContaining(["code", "message"]),
    );
    for (const name of [
      "ServerDefinition",
      "InstallInput",
      "ExtendInput",
      "CredentialsInput",
      "Event",
      "DryRunResult",
    ]) {
      expect(schemas[name], name).toBeDefined();
    }
    expect(at(doc.components?.responses, "NotFound", "content", "application/json", "schema", "$ref")).toBe(
      "#/components/schemas/Error",
    );
    expect(doc.components?.securitySchemes).toMatchObject({
      bearerAuth: { type: "http", scheme: "bearer" },
      sessionCookie: { type: "apiKey", in: "cookie", name: "berth_session" },
    });
    expect(at(doc.paths, "/api/openapi.json", "get", "security")).toEqual([]);
  });
});

describe("served by the router", () => {
  const deps = { publicUrl: SERVER, log: { info() {}, warn() {}, error() {} } } as unknown as HttpDeps;
  const route = createRouter(ROUTES, { origins: { own: new Set(), allowed: new Set() } });

  it("serves the document without credentials", async () => {
    const res = await route(new Request(`${SERVER}/api/openapi.json`), deps);
    expect(res.status).toBe(200);
    expect((await res.json()).openapi).toBe("3.1.0");
  });

  it("serves a self-contained HTML reference page", async () => {
    const res = await route(new Request(`${SERVER}/api/docs`), deps);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toBe(buildDocsPage(ROUTES, SERVER));
    expect(html).toContain("/api/mcp-connections/{id}/credentials");
    expect(html).toContain('id="schema-Connection"');
    expect(html).not.toMatch(/<script|<link|https?:\/\/(?!berth\.test)/);
  });
});
