import type { UpstreamOAuth } from "@/lib/core/schemas/upstream-oauth";
import { type Db, one } from "../db";
import { isUuid } from "../ids";
import type { PageArgs } from "../page";

export type ServerRow = {
  id: string;
  slug: string;
  title: string;
  description: string;
  start_command: string;
  credential_schema: Record<string, unknown>;
  default_timeout: number;
  version: string;
  env: Record<string, string>;
  network: boolean;
  /** How Berth talks to it: its stdio, or Streamable HTTP it serves itself on `port` at `path`. */
  transport: "stdio" | "streamable-http";
  port: number | null;
  path: string | null;
  /** The tool call a credential test makes (`check` in the API). */
  credential_check: { tool: string; arguments: Record<string, unknown>; error_text?: string } | null;
  /** The names of the tools it offers, as declared (null: not declared). */
  tools: string[] | null;
  /** How its token is obtained through OAuth instead of pasted (null: pasted only). */
  oauth: UpstreamOAuth | null;
  /** When an operator removed it from the catalogue (its connections still use it). */
  removed_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

export type ServerFields = Omit<ServerRow, "id" | "removed_at" | "created_at" | "updated_at">;

/** The catalogue: the definitions not removed. */
export function listServers(db: Db, { page }: { page?: PageArgs<[string, string]> } = {}) {
  const after = page?.after ? "and (title, id) > ($2, $3::uuid)" : "";
  return db.query<ServerRow>(
    `select * from mcp_servers where removed_at is null ${after} order by title, id limit $1`,
    [page?.limit ?? null, ...(page?.after ?? [])],
  );
}

/**
 * The catalogue is shared by all accounts, so it is the one table read without an account id.
 * A removed definition is found only with `includeRemoved`: by what already uses it (a
 * connection's deploys and page), never by a new install.
 */
export function getServer(
  db: Db,
  { idOrSlug, includeRemoved = false }: { idOrSlug: string; includeRemoved?: boolean },
) {
  const kept = includeRemoved ? "" : " and removed_at is null";
  return isUuid(idOrSlug)
    ? one(db.query<ServerRow>(`select * from mcp_servers where id = $1${kept}`, [idOrSlug]))
    : one(db.query<ServerRow>(`select * from mcp_servers where slug = $1${kept}`, [idOrSlug]));
}

const COLUMNS =
  "slug, title, description, start_command, credential_schema, default_timeout, version, env, network, transport, port, path, credential_check, tools, oauth";
const VALUES = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15";

const REPLACE = COLUMNS.split(", ")
  .filter((c) => c !== "slug")
  .map((c) => `${c} = excluded.${c}`)
  .join(", ");

/** Which definition with the same slug an upsert may replace (in one statement: no race between looking and writing). */
const REPLACING = {
  /** Any: the CLI's `servers add` (a removed one comes back with these fields). */
  any: "",
  /** Only a removed one: a new definition never overwrites one in the catalogue. */
  removed: " where mcp_servers.removed_at is not null",
  /** Only one in the catalogue: an edit never brings back one removed meanwhile. */
  live: " where mcp_servers.removed_at is null",
};

/**
 * Adds a definition, or replaces the one with the same slug as `replacing` allows (back in the
 * catalogue if it was removed); undefined when there was one it may not replace.
 */
export function upsertServer(db: Db, s: ServerFields, replacing: keyof typeof REPLACING = "any") {
  return one(
    db.query<ServerRow>(
      `insert into mcp_servers (${COLUMNS}) values (${VALUES})
       on conflict (slug) do update set ${REPLACE}, removed_at = null, updated_at = now()${REPLACING[replacing]}
       returning *`,
      serverParams(s),
    ),
  );
}

/** Seeds a definition only where its slug is new, so an operator's edits (and removals) survive restarts. */
export async function insertServerIfMissing(db: Db, s: ServerFields) {
  await db.query(
    `insert into mcp_servers (${COLUMNS}) values (${VALUES}) on conflict (slug) do nothing`,
    serverParams(s),
  );
}

/** Takes a definition out of the catalogue; answers whether it was in it. */
export async function markServerRemoved(db: Db, { id }: { id: string }) {
  const rows = await db.query(
    "update mcp_servers set removed_at = now(), updated_at = now() where id = $1 and removed_at is null returning id",
    [id],
  );
  return rows.length > 0;
}

/** How many of all accounts' connections (not deleted) run a definition. */
export async function countServerConnections(db: Db, { serverId }: { serverId: string }) {
  const row = await one(
    db.query<{ n: number }>(
      "select count(*)::int as n from mcp_connections where server_id = $1 and status <> 'deleted'",
      [serverId],
    ),
  );
  return row?.n ?? 0;
}

const serverParams = (s: ServerFields) => [
  s.slug,
  s.title,
  s.description,
  s.start_command,
  JSON.stringify(s.credential_schema),
  s.default_timeout,
  s.version,
  JSON.stringify(s.env),
  s.network,
  s.transport,
  s.port,
  s.path,
  s.credential_check === null ? null : JSON.stringify(s.credential_check),
  s.tools === null ? null : JSON.stringify(s.tools),
  s.oauth === null ? null : JSON.stringify(s.oauth),
];
