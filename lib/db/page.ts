/**
 * Keyset pages as queries take them: at most `limit` rows after the row whose sort key is
 * `after` (lib/core/pagination.ts makes both). Undefined: the whole list.
 */
export type PageArgs<K> = { limit: number; after?: K } | undefined;

/**
 * A timestamp as exact text (microseconds, UTC) for a cursor: a JS Date keeps only milliseconds,
 * and a cursor a few microseconds off would show a row twice or skip one.
 */
export const exactTime = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** A row of a page, with its sort key's timestamp as exactTime writes it. */
export type Keyed<R> = R & { page_at: string };
