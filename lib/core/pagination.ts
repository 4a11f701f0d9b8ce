import { z } from "zod";
import { BerthError } from "./errors";

/**
 * Keyset pagination of the list routes: `limit` rows after the one a `cursor` names, the cursor
 * being the last row's sort key (base64url of a JSON tuple headed by the list's tag), never an
 * offset, so a deep page costs what the first one does. Scoping stays in each query's WHERE: a
 * cursor only says where to start, so a forged one reaches nothing its caller could not list.
 */

export const MAX_PAGE_SIZE = 200;
/** A page's size when only `cursor` is given. */
export const DEFAULT_PAGE_SIZE = 50;

/** The query parameters of every list route, spread into its query schema. */
export const PageParams = {
  limit: z.coerce
    .number({ error: "Must be a whole number from 1 to 200." })
    .int("Must be a whole number from 1 to 200.")
    .min(1, "Must be a whole number from 1 to 200.")
    .max(MAX_PAGE_SIZE, "Must be a whole number from 1 to 200.")
    .optional()
    .meta({
      description:
        "Answer a page of at most this many (1 to 200) with `next_cursor`. Without `limit` nor `cursor` the whole " +
        "list is answered, without `next_cursor`.",
    }),
  cursor: z
    .string()
    .max(1024)
    .optional()
    .meta({ description: "The `next_cursor` of the previous page (opaque); pages of 50 unless `limit` says." }),
};
export const PageQuery = z.strictObject(PageParams);
export type PageQuery = z.infer<typeof PageQuery>;

/** A sort key in a cursor: a microsecond timestamp, as lib/db/page.ts's `exactTime` writes it. */
export const ExactTime = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
  // A well-formed but impossible date (February 30th) would fail in the database, not here.
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString().slice(0, 23) === s.slice(0, 23));

/** What a keyset query is asked for: one row more than the page shows, to know whether another follows. */
export type Page<K> = { size: number; limit: number; after?: K };

/**
 * The page a list request asks for (undefined: the whole list). `key` is the list's cursor tuple
 * after its tag; a cursor of another list, or one that does not decode, answers 400.
 */
export function pageOf<K extends unknown[]>(
  input: PageQuery,
  tag: string,
  key: z.ZodType<K>,
  defaultSize = DEFAULT_PAGE_SIZE,
): Page<K> | undefined {
  if (input.limit === undefined && input.cursor === undefined) return undefined;
  const size = input.limit ?? defaultSize;
  return {
    size,
    limit: size + 1,
    after: input.cursor === undefined ? undefined : decodeCursor(input.cursor, tag, key),
  };
}

/**
 * A page's answer from the rows its query returned (at most `limit`): the first `size` shown,
 * `next_cursor` naming the last of them when more follow. Without a page, the rows as they are.
 */
/** A list's answer: `next_cursor` only when a page was asked for (null on the last one). */
export type Listed<J> = { data: J[]; next_cursor?: string | null };

export async function toPage<R, J>(
  rows: R[],
  page: Page<unknown[]> | undefined,
  tag: string,
  keyOf: (row: R) => unknown[],
  present: (rows: R[]) => J[] | Promise<J[]>,
): Promise<Listed<J>> {
  if (!page) return { data: await present(rows) };
  const shown = rows.slice(0, page.size);
  const last = shown.at(-1);
  const more = rows.length > page.size && last !== undefined;
  return { data: await present(shown), next_cursor: more ? encodeCursor([tag, ...keyOf(last)]) : null };
}

export function encodeCursor(key: unknown[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor<K extends unknown[]>(cursor: string, tag: string, key: z.ZodType<K>): K {
  const invalid = () =>
    new BerthError("bad_request", "The cursor is not one this list answered.", [
      { path: "cursor", message: "Not a cursor of this list: pass a `next_cursor` as it was answered." },
    ]);
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let decoded: unknown;
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    decoded = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded[0] !== tag) throw invalid();
  const parsed = key.safeParse(decoded.slice(1));
  if (!parsed.success) throw invalid();
  return parsed.data;
}

/** Cursor keys of the lists, by the sort they page through. */
export const TimeAndId = z.tuple([ExactTime, z.uuid()]);
export const Sequence = z.tuple([
  z
    .string()
    .regex(/^[1-9]\d{0,18}$/)
    .refine((s) => BigInt(s) <= 9223372036854775807n), // PostgreSQL's bigint
]);
export const TitleAndId = z.tuple([z.string().max(1000), z.uuid()]);
