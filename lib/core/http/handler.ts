import type { z } from "zod";
import type { Actor, Ctx, Deps } from "@/lib/core/context";
import { BerthError, fieldErrors, toErrorResponse } from "@/lib/core/errors";
import { nulPaths } from "@/lib/core/nul-paths";
import { isUuid } from "@/lib/db/ids";

export const MAX_BODY_BYTES = 64 * 1024;

export type Principal = { accountId: string; actor: Actor };

export type HttpDeps = Deps & {
  /** Who is calling: an API key's account or a signed-in user's current account. */
  authenticate(req: Request): Promise<Principal | undefined>;
  health(): Promise<Record<string, unknown>>;
};

export type Params = Record<string, string | string[] | undefined>;
export type Handler = (req: Request, params: Params, deps: HttpDeps) => Promise<Response>;

type AccountHandlerArgs<I> = { ctx: Ctx; input: I; params: Params; id: string; req: Request };

/**
 * Wraps a handler: authenticates, caps and parses the input (JSON body or query string) with
 * its zod schema, resolves `:id` (a malformed id is simply not found), maps any throw to the
 * contract's error shape. Nothing else: the logic lives in services.
 */
export function withAccount<S extends z.ZodType>(
  schema: S | null,
  fn: (args: AccountHandlerArgs<z.output<S>>) => Promise<Response>,
  opts: { input?: "body" | "query" } = {},
): Handler {
  return async (req, params, deps) => {
    try {
      const principal = await deps.authenticate(req);
      if (!principal)
        throw new BerthError("unauthorized", "Send an API key as `Authorization: Bearer <key>`, or sign in.");
      const id = typeof params.id === "string" ? params.id : "";
      if ("id" in params && !isUuid(id)) throw new BerthError("not_found", "No such connection.");
      const raw = opts.input === "query" ? Object.fromEntries(new URL(req.url).searchParams) : await readJson(req);
      const input = schema ? parseInput(schema, raw) : undefined;
      const ctx: Ctx = { ...deps, ...principal };
      return await fn({ ctx, input: input as z.output<S>, params, id, req });
    } catch (err) {
      return toErrorResponse(err, (cause, requestId) =>
        deps.log.error({ err: cause, requestId, url: req.url }, "request failed"),
      );
    }
  };
}

export function parseInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const nul = nulPaths(raw);
  if (nul.length) {
    // Nothing Berth stores or runs can hold one: PostgreSQL refuses it, argv and environments end at it.
    throw new BerthError(
      "bad_request",
      "The request is not valid.",
      nul.map((path) => ({ path, message: "Must not contain a NUL character." })),
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new BerthError("bad_request", "The request is not valid.", fieldErrors(parsed.error.issues));
  return parsed.data;
}

/** Reads a JSON body of at most 64 KiB; an empty body is `{}`. */
export async function readJson(req: Request): Promise<unknown> {
  if (req.method === "GET" || req.method === "HEAD" || req.method === "DELETE") return {};
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const text = await readCapped(req);
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BerthError("bad_request", "The body is not valid JSON.", [{ path: "", message: "Invalid JSON." }]);
  }
}

async function readCapped(req: Request): Promise<string> {
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

const tooLarge = () => new BerthError("payload_too_large", `The body is larger than ${MAX_BODY_BYTES / 1024} KiB.`);

export const json = (data: unknown, status = 200) => Response.json({ data }, { status });
