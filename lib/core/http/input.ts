import type { z } from "zod";
import { BerthError, fieldErrors } from "@/lib/core/errors";
import { MAX_JSON_DEPTH, nestsDeeper } from "@/lib/core/json-depth";
import { unstorableText } from "@/lib/core/unstorable-text";

export const MAX_BODY_BYTES = 64 * 1024;

export function parseInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const unstorable = unstorableText(raw);
  if (unstorable.length) throw new BerthError("bad_request", "The request is not valid.", unstorable);
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
  if (nestsDeeper(text, MAX_JSON_DEPTH)) {
    throw new BerthError("bad_request", `The JSON nests deeper than ${MAX_JSON_DEPTH} levels.`, [
      { path: "", message: "Too deeply nested." },
    ]);
  }
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
