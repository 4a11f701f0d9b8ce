import { z } from "zod";
import { createDocument, type oas31, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from "zod-openapi";
import { ErrorResponse } from "@/lib/core/schemas/common";
import type { Answer, ErrorStatus, Route } from "./route";

/**
 * OpenAPI 3.1 of the REST API, generated from the route table (routes.ts) and so from the very
 * zod schemas the routes parse and answer with, plus a server-rendered reference page of it (no
 * scripts, works offline).
 */

const ERROR_RESPONSES: Record<ErrorStatus, { id: string; description: string }> = {
  400: { id: "BadRequest", description: "Bad input; `details` lists `{path, message}`, one per bad field." },
  401: { id: "Unauthorized", description: "No or bad credentials." },
  403: {
    id: "Forbidden",
    description:
      "`forbidden`: authenticated, but a member's role may not do this; `origin_not_allowed`: sent from a web origin outside `BERTH_ALLOWED_ORIGINS`.",
  },
  404: { id: "NotFound", description: "Not found, or not yours: another account's objects are invisible." },
  406: {
    id: "NotAcceptable",
    description:
      "`not_acceptable`: the MCP endpoint needs `Accept: application/json, text/event-stream` (GET: `text/event-stream`).",
  },
  409: { id: "Conflict", description: "Conflicts with the current state." },
  413: { id: "PayloadTooLarge", description: "The body is too large: over 64 KiB (4 MiB on the MCP endpoint)." },
  415: { id: "UnsupportedMediaType", description: "`unsupported_media_type`: send `Content-Type: application/json`." },
  422: {
    id: "DryRunFailed",
    description:
      "`dry_run_failed`: the server did not start (its stderr tail, secrets scrubbed, is in `details.stderr`), or its " +
      "definition's credential check failed: `details.check` is `{tool, ok: false, message}`, the server's own message, " +
      "secrets scrubbed.",
  },
  429: {
    id: "TooManyRequests",
    description:
      "`too_many_requests`: past one of the account's caps (connections deploying, running or restarting after a crash, `BERTH_ACCOUNT_MAX_SANDBOXES`; " +
      "sandbox-runs and dry runs at once, `BERTH_ACCOUNT_MAX_RUNS`; sandbox starts a minute, `BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE`; MCP sessions, `BERTH_MCP_MAX_SESSIONS_PER_*`) or too many " +
      "MCP requests in flight on this connection (`BERTH_MCP_MAX_CONCURRENCY`), or faster than `BERTH_API_REQUESTS_PER_SECOND` " +
      "(REST) or `BERTH_MCP_BODY_BYTES_PER_SECOND` (MCP bodies); retry after the `Retry-After` seconds.",
  },
  502: { id: "SandboxProviderFailed", description: "The sandbox provider failed." },
  503: {
    id: "Unavailable",
    description:
      "`unavailable`: a service Berth depends on cannot be reached (its database dropped the session, the sign-in " +
      "provider's keys cannot be loaded); nothing was done, retry after the `Retry-After` seconds.",
  },
};

const errorRef = (status: ErrorStatus) => ({ $ref: `#/components/responses/${ERROR_RESPONSES[status].id}` });

const NO_AUTH: oas31.SecurityRequirementObject[] = [];
const SECURITY: Record<Route["access"], oas31.SecurityRequirementObject[] | undefined> = {
  account: undefined, // the document's default
  gateway: undefined,
  public: NO_AUTH,
  service: [{ serviceKey: [] }],
  operator: [{ metricsToken: [] }],
};

const NextCursor = z.string().nullable().optional().meta({
  description:
    "Present when `limit` or `cursor` was given: pass it as `cursor` for the next page; null on the last page.",
});

const answerSchema = (answer: Answer) =>
  answer.paged
    ? z.object({ data: answer.schema ?? z.unknown(), next_cursor: NextCursor })
    : z.object({ data: answer.schema ?? z.unknown() });

/** One operation of the document, from its route. */
function operation(route: Route): ZodOpenApiOperationObject {
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    responses[status] = {
      description: answer.description,
      content: answer.content ?? { "application/json": { schema: answerSchema(answer) } },
    };
  }
  // Every REST operation may answer 429: requests are paced per caller (BERTH_API_REQUESTS_PER_SECOND).
  const paced = route.access === "public" ? [] : [429 as const];
  // Any route may answer 403 to a browser on an origin outside BERTH_ALLOWED_ORIGINS, and 503
  // while the database cannot be reached.
  const always = [403 as const, 503 as const];
  for (const status of [...new Set<ErrorStatus>([...route.errors, ...paced, ...always])].sort()) {
    responses[`${status}`] = errorRef(status);
  }
  const params = { path: route.params, query: route.query, header: route.headers };
  let requestBody: ZodOpenApiOperationObject["requestBody"];
  if (route.body)
    requestBody = {
      required: !route.bodyOptional,
      content: { "application/json": { schema: route.body, ...(route.example ? { example: route.example } : {}) } },
    };
  else if (route.rawBody)
    requestBody = {
      required: true,
      description: route.rawBody.description,
      content: { "application/json": { schema: { type: "object" }, example: route.example } },
    };
  return {
    operationId: route.operationId,
    tags: route.tags,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(SECURITY[route.access] ? { security: SECURITY[route.access] } : {}),
    ...(params.path || params.query || params.header
      ? { requestParams: Object.fromEntries(Object.entries(params).filter(([, v]) => v)) }
      : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: responses as ZodOpenApiOperationObject["responses"],
  };
}

function createBerthDocument(routes: Record<string, Route>, serverUrl: string): oas31.OpenAPIObject {
  const paths: ZodOpenApiPathsObject = {};
  for (const [key, route] of Object.entries(routes)) {
    const [method = "", path = ""] = key.split(" ");
    const documented = path.replace(/:(\w+)/g, "{$1}");
    paths[documented] = { ...paths[documented], [method.toLowerCase()]: operation(route) };
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "Berth API",
      version: "1",
      description:
        "Berth runs MCP servers in isolated sandboxes, one per connection. Every answer is JSON; " +
        'successes wrap their payload as `{"data": …}`, errors are `{"error": {"code", "message", "details"?}}`. ' +
        "Bodies are limited to 64 KiB.",
    },
    servers: [{ url: serverUrl }],
    security: [{ bearerAuth: [] }, { sessionCookie: [] }],
    tags: [
      { name: "Server definitions", description: "The catalogue of MCP servers that can be installed." },
      { name: "Connections", description: "Installed MCP servers, each in its own sandbox." },
      { name: "Inspector", description: "Ask a running connection's server directly, as an agent would." },
      {
        name: "Approvals",
        description: "Tool calls that wait for an owner's or admin's decision under a connection's tool policy.",
      },
      { name: "Sandbox runs", description: "One-off commands in fresh sandboxes." },
      { name: "API keys", description: "The account's API keys: create (the key is shown once), list, revoke." },
      { name: "Members", description: "The people of the account and their roles; invitations by email." },
      { name: "Account", description: "The account's name and settings." },
      { name: "MCP", description: "A connection's MCP endpoint (Streamable HTTP)." },
      { name: "Meta", description: "Health, maintenance and this documentation." },
    ],
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "`Authorization: Bearer <api_key>` (scoped to one account), or a Supabase Auth access token (a JWT) of a " +
            "member; a user of several accounts names one with the `Berth-Account: <account_id>` header (default: their first).",
        },
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: "berth_session",
          description: "The browser session of a signed-in user (its current account).",
        },
        serviceKey: {
          type: "http",
          scheme: "bearer",
          description: "The Supabase project's service role key (`SUPABASE_SERVICE_ROLE_KEY`): for schedulers.",
        },
        metricsToken: {
          type: "http",
          scheme: "bearer",
          description:
            "The operator's metrics token (`BERTH_METRICS_TOKEN`): for Prometheus. No account's key reads metrics.",
        },
      },
      schemas: { Error: ErrorResponse },
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(({ id, description }) => [
          id,
          { description, content: { "application/json": { schema: ErrorResponse } } },
        ]),
      ),
    },
    paths,
  });
}

const documents = new Map<string, oas31.OpenAPIObject>();
const pages = new Map<string, string>();

/** The OpenAPI document of a route table for a server URL; built once per URL. */
export function buildOpenApiDocument(routes: Record<string, Route>, serverUrl: string): oas31.OpenAPIObject {
  const url = serverUrl.replace(/\/$/, "");
  let doc = documents.get(url);
  if (!doc) {
    doc = createBerthDocument(routes, url);
    documents.set(url, doc);
  }
  return doc;
}

/** The reference page for a server URL; built once per URL. */
export function buildDocsPage(routes: Record<string, Route>, serverUrl: string): string {
  const url = serverUrl.replace(/\/$/, "");
  let html = pages.get(url);
  if (!html) {
    html = renderDocsPage(buildOpenApiDocument(routes, url));
    pages.set(url, html);
  }
  return html;
}

// ---------------------------------------------------------------------------------------------
// The reference page

type Schema = oas31.SchemaObject | oas31.ReferenceObject;
type Json = Record<string, unknown>;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** Backticks in descriptions become <code>; everything else is escaped. */
const text = (s: unknown) => (s === undefined ? "" : esc(s).replace(/`([^`]+)`/g, "<code>$1</code>"));

const isRef = (s: unknown): s is oas31.ReferenceObject => typeof s === "object" && s !== null && "$ref" in s;
const refName = (ref: string) => ref.split("/").pop() ?? ref;
const anchor = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, "-");

function resolve<T>(doc: oas31.OpenAPIObject, x: T | oas31.ReferenceObject): T {
  if (!isRef(x)) return x;
  const [, , kind, name] = x.$ref.split("/");
  const table = (doc.components as Json | undefined)?.[kind ?? ""] as Record<string, T> | undefined;
  const found = table?.[name ?? ""];
  if (!found) throw new Error(`Unresolved reference ${x.$ref}`);
  return resolve(doc, found);
}

/** A one-line type: `string (uuid)`, `array of Connection`, `"a" | "b"`, … */
function typeHtml(s: Schema | boolean | undefined): string {
  if (s === undefined || s === true) return "any";
  if (s === false) return "never";
  if (isRef(s)) return `<a href="#schema-${anchor(refName(s.$ref))}">${esc(refName(s.$ref))}</a>`;
  if (s.const !== undefined) return `<code>${esc(JSON.stringify(s.const))}</code>`;
  if (s.enum) return s.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(" | ");
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map((u) => typeHtml(u)).join(" | ");
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const parts = types.map((t) => {
    if (t === "array") return `array of ${typeHtml(s.items as Schema | undefined)}`;
    if (t === "object") {
      if (s.properties && Object.keys(s.properties).length) return "object";
      const extra = s.additionalProperties;
      return extra === undefined || extra === false
        ? "object"
        : `map of string → ${typeHtml(extra as Schema | boolean)}`;
    }
    return s.format ? `${t} (${esc(s.format)})` : t;
  });
  return parts.length ? parts.join(" | ") : "any";
}

function constraints(s: oas31.SchemaObject): string[] {
  const out: string[] = [];
  if (s.default !== undefined) out.push(`default <code>${esc(JSON.stringify(s.default))}</code>`);
  // zod's int() bounds (±2^53-1) are noise; so are the patterns behind a format (uuid, date-time).
  if (s.minimum !== undefined && Math.abs(s.minimum) < Number.MAX_SAFE_INTEGER) out.push(`min ${esc(s.minimum)}`);
  if (s.maximum !== undefined && Math.abs(s.maximum) < Number.MAX_SAFE_INTEGER) out.push(`max ${esc(s.maximum)}`);
  if (s.minLength !== undefined) out.push(`min length ${esc(s.minLength)}`);
  if (s.maxLength !== undefined) out.push(`max length ${esc(s.maxLength)}`);
  if (s.pattern !== undefined && !s.format) out.push(`pattern <code>${esc(s.pattern)}</code>`);
  const example = s.examples?.[0] ?? (s as Json).example;
  if (example !== undefined) out.push(`example <code>${esc(JSON.stringify(example))}</code>`);
  return out;
}

/** A description followed by the schema's constraints, e.g. `Display name. (max length 200)`. */
function fieldNotes(description: string | undefined, s: oas31.SchemaObject | undefined): string {
  const notes = s ? constraints(s) : [];
  return [text(description), notes.length ? `<span class="note">(${notes.join(", ")})</span>` : ""]
    .filter(Boolean)
    .join(" ");
}

/**
 * The properties of an object schema as a table, nested objects inline; anything else as a type
 * line. `expand` shows a referenced schema's fields too (request bodies); `strict` notes that no
 * other fields are accepted (only meaningful for input).
 */
function schemaHtml(
  doc: oas31.OpenAPIObject,
  s: Schema | undefined,
  opts: { depth?: number; expand?: boolean; strict?: boolean } = {},
): string {
  const depth = opts.depth ?? 0;
  if (s === undefined) return "";
  if (isRef(s)) {
    if (!opts.expand) return `<p class="type">${typeHtml(s)}</p>`;
    return `<p class="type">Schema ${typeHtml(s)}:</p>${schemaHtml(doc, resolve<Schema>(doc, s), { ...opts, expand: false })}`;
  }
  const props = s.properties as Record<string, Schema> | undefined;
  if (!props || !Object.keys(props).length || depth > 4) {
    const notes = fieldNotes(s.description, s);
    return `<p class="type">${typeHtml(s)}${notes ? ` <span class="note">— ${notes}</span>` : ""}</p>`;
  }
  const keys = Object.keys(props);
  if (depth === 0 && keys.length === 1 && keys[0] === "data") {
    return `<p class="type"><code>{"data": </code> ${typeHtml(props.data)} <code>}</code></p>`;
  }
  const required = new Set(s.required ?? []);
  const rows = Object.entries(props).map(([name, p]) => {
    const items = !isRef(p) && p.type === "array" ? (p.items as Schema | undefined) : undefined;
    const shown = items && !isRef(items) ? items : p;
    const nested = !isRef(shown) && shown.properties && Object.keys(shown.properties).length;
    const inner = nested ? schemaHtml(doc, shown, { ...opts, depth: depth + 1 }) : "";
    const desc = isRef(p) ? "" : fieldNotes(p.description, p);
    return `<tr><td><code>${esc(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ""}</td><td>${typeHtml(p)}</td><td>${desc}${inner}</td></tr>`;
  });
  const extra =
    opts.strict && depth === 0 && s.additionalProperties === false
      ? '<p class="note">No other fields are accepted.</p>'
      : "";
  return `<table class="props"><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead><tbody>${rows.join("")}</tbody></table>${extra}`;
}

function contentHtml(
  doc: oas31.OpenAPIObject,
  content: Record<string, oas31.MediaTypeObject> | undefined,
  opts: { expand?: boolean; strict?: boolean } = {},
): string {
  if (!content) return "";
  return Object.entries(content)
    .map(
      ([type, media]) =>
        `<div class="media"><span class="ctype">${esc(type)}</span>${media.schema ? schemaHtml(doc, media.schema, opts) : ""}</div>`,
    )
    .join("");
}

function securityHtml(doc: oas31.OpenAPIObject, op: oas31.OperationObject): string {
  const reqs = op.security ?? doc.security ?? [];
  if (!reqs.length) return '<p class="auth">Public: no credentials needed.</p>';
  const optional = reqs.some((r) => !Object.keys(r).length);
  const names = reqs.flatMap((r) => Object.keys(r));
  const label = (n: string) => (n === "bearerAuth" ? "Bearer API key" : n === "sessionCookie" ? "session cookie" : n);
  return `<p class="auth">Auth${optional ? " (optional)" : ""}: ${names.map((n) => esc(label(n))).join(" or ")}.</p>`;
}

function operationHtml(
  doc: oas31.OpenAPIObject,
  path: string,
  method: string,
  pathItem: oas31.PathItemObject,
  o: oas31.OperationObject,
) {
  const id = anchor(o.operationId ?? `${method}-${path}`);
  const params = [...(pathItem.parameters ?? []), ...(o.parameters ?? [])].map((p) =>
    resolve<oas31.ParameterObject>(doc, p),
  );
  const paramsHtml = params.length
    ? `<h4>Parameters</h4><table class="props"><thead><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>${params
        .map((p) => {
          const s = p.schema as Schema | undefined;
          const notes = fieldNotes(
            p.description ?? (s && !isRef(s) ? s.description : undefined),
            s && !isRef(s) ? s : undefined,
          );
          return `<tr><td><code>${esc(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ""}</td><td>${esc(p.in)}</td><td>${typeHtml(s)}</td><td>${notes}</td></tr>`;
        })
        .join("")}</tbody></table>`
    : "";
  const body = o.requestBody ? resolve<oas31.RequestBodyObject>(doc, o.requestBody) : undefined;
  const bodyHtml = body
    ? `<h4>Request body${body.required ? "" : ' <span class="note">(optional)</span>'}</h4>${body.description ? `<p>${text(body.description)}</p>` : ""}${contentHtml(doc, body.content, { expand: true, strict: true })}`
    : "";
  const responses = Object.entries(o.responses ?? {})
    .map(([status, r]) => {
      const ref = isRef(r) ? refName(r.$ref) : undefined;
      const res = resolve<oas31.ResponseObject>(doc, r as oas31.ResponseObject | oas31.ReferenceObject);
      const schema = ref ? `<p class="type"><a href="#schema-Error">Error</a></p>` : contentHtml(doc, res.content);
      const cls = status.startsWith("2") ? "ok" : "err";
      return `<tr><td><span class="status ${cls}">${esc(status)}</span></td><td>${text(res.description)}${schema}</td></tr>`;
    })
    .join("");
  return `<section class="op" id="${id}">
<h3><span class="method m-${method}">${method.toUpperCase()}</span> <code class="path">${esc(path)}</code></h3>
<p class="summary">${text(o.summary)}</p>${o.description ? `<p>${text(o.description)}</p>` : ""}${securityHtml(doc, o)}
${paramsHtml}${bodyHtml}<h4>Responses</h4><table class="responses"><tbody>${responses}</tbody></table>
</section>`;
}

const CSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#fff;--soft:#f6f7f9;--accent:#2754c5}
*{box-sizing:border-box}body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:4px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.layout{display:grid;grid-template-columns:270px 1fr;min-height:100vh}
nav{border-right:1px solid var(--line);padding:20px 16px;position:sticky;top:0;height:100vh;overflow:auto;background:var(--soft)}
nav h2{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:18px 0 6px}
nav ul{list-style:none;margin:0;padding:0}nav li{margin:3px 0;font-size:13px}nav .method{font-size:10px;min-width:46px}
main{padding:28px 40px;max-width:1050px}
h1{margin:0 0 6px;font-size:26px}h3{margin:0 0 6px;font-size:17px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h4{margin:16px 0 6px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.tag{margin:36px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}
.op{border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:14px 0;scroll-margin-top:12px}
.summary{margin:2px 0;font-weight:600}.auth,.note{color:var(--muted);font-size:13px}
.method{display:inline-block;min-width:62px;text-align:center;color:#fff;font:700 12px/1.9 ui-monospace,monospace;border-radius:4px;padding:0 6px}
.m-get{background:#2f7d4f}.m-post{background:#2754c5}.m-put{background:#a86a00}.m-patch{background:#7a4cc2}.m-delete{background:#b3261e}
.path{font-size:15px;background:none;padding:0}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:4px 0}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}th{color:var(--muted);font-weight:600;font-size:12px}
td table{margin-top:6px}td:first-child{white-space:nowrap}
.req{color:#b3261e;font-size:11px;font-weight:600}
.status{font:700 12px ui-monospace,monospace;padding:1px 6px;border-radius:4px}.status.ok{background:#e3f4e9;color:#1f6b3d}.status.err{background:#fbe9e7;color:#9c2a1f}
.media{margin:6px 0}.ctype{display:inline-block;font:12px ui-monospace,monospace;color:var(--muted);margin-bottom:2px}.type{margin:4px 0}
.schema{border:1px solid var(--line);border-radius:8px;padding:14px 20px;margin:14px 0;scroll-margin-top:12px}
.schema h3{font-family:ui-monospace,monospace}
@media (max-width:800px){.layout{grid-template-columns:1fr}nav{position:static;height:auto;border-right:0;border-bottom:1px solid var(--line)}main{padding:20px}}
`;

function renderDocsPage(doc: oas31.OpenAPIObject): string {
  const ops: { tag: string; path: string; method: string; item: oas31.PathItemObject; op: oas31.OperationObject }[] =
    [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const o = item[method];
      if (o) ops.push({ tag: o.tags?.[0] ?? "Other", path, method, item, op: o });
    }
  }
  const tags = [...(doc.tags ?? []).map((t) => t.name), ...ops.map((o) => o.tag)].filter(
    (t, i, all) => all.indexOf(t) === i,
  );
  const tagDesc = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
  const schemas = Object.entries(doc.components?.schemas ?? {}).sort(([a], [b]) => a.localeCompare(b));

  const nav = tags
    .map((tag) => {
      const items = ops
        .filter((o) => o.tag === tag)
        .map(
          (o) =>
            `<li><a href="#${anchor(o.op.operationId ?? "")}"><span class="method m-${o.method}">${o.method.toUpperCase()}</span> ${esc(o.path)}</a></li>`,
        )
        .join("");
      return items ? `<h2>${esc(tag)}</h2><ul>${items}</ul>` : "";
    })
    .join("");
  const schemaNav = schemas.map(([name]) => `<li><a href="#schema-${anchor(name)}">${esc(name)}</a></li>`).join("");

  const sections = tags
    .map((tag) => {
      const list = ops.filter((o) => o.tag === tag);
      if (!list.length) return "";
      const desc = tagDesc.get(tag);
      return `<h2 class="tag">${esc(tag)}</h2>${desc ? `<p>${text(desc)}</p>` : ""}${list.map((o) => operationHtml(doc, o.path, o.method, o.item, o.op)).join("\n")}`;
    })
    .join("\n");
  const schemaSections = schemas
    .map(
      ([name, s]) =>
        `<section class="schema" id="schema-${anchor(name)}"><h3>${esc(name)}</h3>${!isRef(s) && s.description ? `<p>${text(s.description)}</p>` : ""}${schemaHtml(doc, s, { strict: name.endsWith("Input") })}</section>`,
    )
    .join("\n");
  const schemes = Object.entries(doc.components?.securitySchemes ?? {})
    .map(([name, s]) => {
      const scheme = resolve<oas31.SecuritySchemeObject>(doc, s);
      return `<li><strong>${esc(name)}</strong>: ${text(scheme.description)}</li>`;
    })
    .join("");

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} reference</title><style>${CSS}</style></head>
<body><div class="layout">
<nav><a href="#top"><strong>${esc(doc.info.title)}</strong></a>${nav}<h2>Schemas</h2><ul>${schemaNav}</ul></nav>
<main id="top">
<h1>${esc(doc.info.title)} <span class="note">v${esc(doc.info.version)} · OpenAPI ${esc(doc.openapi)}</span></h1>
<p>${text(doc.info.description)}</p>
<p>Server: <code>${esc(doc.servers?.[0]?.url ?? "")}</code> · Machine-readable: <a href="${esc(doc.servers?.[0]?.url ?? "")}/api/openapi.json">/api/openapi.json</a></p>
<h4>Authentication</h4><ul>${schemes}</ul>
${sections}
<h2 class="tag">Schemas</h2>
${schemaSections}
</main></div></body></html>
`;
}
