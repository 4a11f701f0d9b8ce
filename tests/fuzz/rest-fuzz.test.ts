import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Route } from "@/lib/core/http/route";
import { ROUTES } from "@/lib/core/http/routes";
import { accountWithMemory, api, type BerthServer, startBerth } from "../support/berth-server";
import { body, contentType, pathParam, query } from "./arbitraries";

/**
 * Every REST route of the route table, fuzzed from its own zod schemas: odd-but-valid and invalid
 * path parameters, queries, bodies and content types. Whatever comes, Berth answers a status its
 * OpenAPI document gives the operation, errors in the contract's shape, and never a 500 or a stack
 * trace. BERTH_FUZZ_RUNS sets the cases per route (1,000 by default).
 */
const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 1000);
/** Bodies over the REST limit (64 KiB) answer 413 before anything reads them. */
const OVER_LIMIT = 64 * 1024 + 1;
const STACK = /\n\s+at |node_modules|\.tsx?:\d+|\/work\/|webpack|TypeError|ReferenceError/;

/** Routes whose own objects would be destroyed by a fuzz case (deleted, restarted, revoked): never given real ids. */
const DESTRUCTIVE = /^(DELETE|PUT) |\/restart$/;

type Account = { account_id: string; api_key: string };

describe("fuzzing every REST route from its schemas", () => {
  let berth: BerthServer;
  let owner: Account;
  let connection: string;
  /** "METHOD /api/path/{param}" → the statuses the served OpenAPI document declares. */
  let documented: Map<string, Set<number>>;

  beforeAll(async () => {
    berth = await startBerth({
      // The fuzz sends thousands of requests a minute; the pacing is tested elsewhere.
      BERTH_API_REQUESTS_PER_SECOND: "1000000",
      // Installs and sandbox runs the fuzz makes valid are refused (429) past these few.
      BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE: "4",
    });
    const fixture = await accountWithMemory(berth, "Fuzzed");
    owner = fixture.account;
    connection = fixture.connection.id;
    const doc = (await (await fetch(`${berth.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    documented = new Map();
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        documented.set(`${m.toUpperCase()} ${p}`, new Set(Object.keys(op.responses).map(Number)));
      }
    }
  });
  afterAll(async () => {
    await berth?.stop();
  });

  const routes = (Object.entries(ROUTES) as [string, Route][]).filter(([, r]) => r.access !== "gateway");

  it.each(routes.map(([key, route]) => [key, route] as const))(
    `%s: ${RUNS} cases, only documented answers`,
    async (key, route) => {
      const [method = "", template = ""] = key.split(" ");
      const real = DESTRUCTIVE.test(key) ? [] : [connection, owner.account_id, "memory", "everything"];
      const schema = route.body ?? route.query;
      const json = schema ? (z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as object) : undefined;
      const allowed = documented.get(`${method} ${template.replace(/:(\w+)/g, "{$1}")}`);
      expect(allowed, `${key} in the OpenAPI document`).toBeDefined();
      const names = [...template.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
      const hasBody = method !== "GET" && method !== "DELETE";
      const seen = new Map<number, number>();

      await fc.assert(
        fc.asyncProperty(
          fc.tuple(...names.map(() => pathParam(real))),
          route.query ? query(json, real) : fc.constant(""),
          hasBody
            ? fc.oneof(
                { weight: 30, arbitrary: body(route.body ? json : undefined, real) },
                { weight: 1, arbitrary: fc.constant("x".repeat(OVER_LIMIT)) },
              )
            : fc.constant(undefined),
          contentType,
          async (params, search, text, type) => {
            let path = template;
            names.forEach((name, i) => {
              path = path.replace(`:${name}`, params[i] as string);
            });
            const headers: Record<string, string> = { authorization: `Bearer ${owner.api_key}` };
            if (type && text !== undefined) headers["content-type"] = type;
            const res = await fetch(`${berth.url}${path}${search}`, { method, headers, body: text });
            const answer = await res.text();
            seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
            const what = `${res.status} ${answer.slice(0, 200)} ← ${method} ${path.slice(0, 200)}${search.slice(0, 200)} (${type}) ${String(text).slice(0, 200)}`;
            expect(allowed?.has(res.status), `an undocumented status: ${what}`).toBe(true);
            expect(answer, `a stack trace or internal detail: ${what}`).not.toMatch(STACK);
            // Unread, whatever it holds: refused for its size, or before (no such route or object, no right).
            if (text?.length === OVER_LIMIT) expect([401, 403, 404, 413], what).toContain(res.status);
            if (res.status >= 400) {
              const error = (JSON.parse(answer) as { error?: { code?: unknown; message?: unknown } }).error;
              expect(typeof error?.code, `the contract's error shape: ${what}`).toBe("string");
              expect(typeof error?.message, `the contract's error shape: ${what}`).toBe("string");
            }
          },
        ),
        { numRuns: RUNS, endOnFailure: false },
      );
      console.log(`${key}: ${RUNS} cases, statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
      // Berth is still whole: the fixture connection still answers.
      const health = await api(berth.url, owner.api_key)("GET", `/api/mcp-connections/${connection}`);
      expect(health.status).toBe(200);
    },
    600_000,
  );
});
