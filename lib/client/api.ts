import type { AnswerOf, BodyOf, RouteKey } from "@/lib/core/http/routes";

type ErrorBody = { error?: { code?: string; message?: string; details?: unknown } };
type FieldError = { path: string; message: string };

/** An error answer of the API: its code, message and details (their shape depends on the code). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** A 400's per-field messages (`[{path, message}]`); none for other errors. */
  get fieldErrors(): FieldError[] {
    return Array.isArray(this.details)
      ? this.details.filter((d): d is FieldError => typeof d?.path === "string" && typeof d?.message === "string")
      : [];
  }

  /** A failed dry run's server stderr (secrets scrubbed). */
  get stderr(): string | undefined {
    const stderr = (this.details as { stderr?: unknown } | undefined)?.stderr;
    return typeof stderr === "string" ? stderr : undefined;
  }
}

/** Headers that authenticate a call beyond the same-origin session cookie. */
export type ApiAuthHeaders = () => Promise<Record<string, string>>;

let authHeaders: ApiAuthHeaders = async () => ({});

/**
 * Supabase Auth: the dashboard's calls carry the Supabase session's access token; <Providers> sets
 * this once per tab, before anything calls. Built-in sign-in needs nothing: its cookie goes along.
 */
export function setApiAuthHeaders(headers: ApiAuthHeaders) {
  authHeaders = headers;
}

type Call<K extends RouteKey> = {
  /** The path's `:name` parameters. */
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: BodyOf<K>;
  signal?: AbortSignal;
};

/**
 * The REST API as the signed-in user (the session cookie, or Supabase's access token), by route: its key in
 * the route table (`"POST /api/mcp-connections/:id/extend"`), so method, path and the answer's
 * type all come from there. Resolves to the `data` of a success, or throws an ApiError.
 */
export async function api<K extends RouteKey>(route: K, call: Call<K> = {}): Promise<AnswerOf<K>> {
  return (await request(route, call)).data;
}

/** A page of a list route (`limit`, `cursor` in `call.query`): its `data` and the `next_cursor` to go on with. */
export async function apiPage<K extends RouteKey>(
  route: K,
  call: Call<K> = {},
): Promise<{ data: AnswerOf<K>; next_cursor: string | null }> {
  const { data, next_cursor } = await request(route, call);
  return { data, next_cursor: next_cursor ?? null };
}

async function request<K extends RouteKey>(
  route: K,
  call: Call<K>,
): Promise<{ data: AnswerOf<K>; next_cursor?: string | null }> {
  const [method = "GET", template = ""] = route.split(" ");
  const path = template.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(call.params?.[name] ?? ""));
  const url = call.query ? `${path}?${new URLSearchParams(call.query)}` : path;
  const res = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      accept: "application/json",
      ...(call.body === undefined ? {} : { "content-type": "application/json" }),
      ...(await authHeaders()),
    },
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
    signal: call.signal,
  });
  const json = (await res.json().catch(() => ({}))) as {
    data?: AnswerOf<K>;
    next_cursor?: string | null;
  } & ErrorBody;
  if (res.ok && json.data !== undefined) return { data: json.data, next_cursor: json.next_cursor };
  const error = json.error ?? {};
  throw new ApiError(error.message ?? `${method} ${path} failed (${res.status}).`, error.code ?? "", error.details);
}
