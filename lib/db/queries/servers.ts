import { type Db, one } from "../db";
import { isUuid } from "../ids";

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
  created_at: Date;
  updated_at: Date;
};

export type ServerFields = Omit<ServerRow, "id" | "created_at" | "updated_at">;

export function listServers(db: Db) {
  return db.query<ServerRow>("select * from mcp_servers order by title");
}

/** The catalogue is shared by all accounts, so it is the one table read without an account id. */
export function getServer(db: Db, { idOrSlug }: { idOrSlug: string }) {
  return isUuid(idOrSlug)
    ? one(db.query<ServerRow>("select * from mcp_servers where id = $1", [idOrSlug]))
    : one(db.query<ServerRow>("select * from mcp_servers where slug = $1", [idOrSlug]));
}

/** Adds a definition, or replaces the one with the same slug. */
export async function upsertServer(db: Db, s: ServerFields) {
  return (await one(
    db.query<ServerRow>(
      `insert into mcp_servers (slug, title, description, start_command, credential_schema, default_timeout, version, env, network, transport, port, path)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       on conflict (slug) do update set title = excluded.title, description = excluded.description,
         start_command = excluded.start_command, credential_schema = excluded.credential_schema,
         default_timeout = excluded.default_timeout, version = excluded.version, env = excluded.env,
         network = excluded.network, transport = excluded.transport, port = excluded.port, path = excluded.path,
         updated_at = now()
       returning *`,
      serverParams(s),
    ),
  )) as ServerRow;
}

/** Seeds a definition only where its slug is new, so an operator's edits survive restarts. */
export async function insertServerIfMissing(db: Db, s: ServerFields) {
  await db.query(
    `insert into mcp_servers (slug, title, description, start_command, credential_schema, default_timeout, version, env, network, transport, port, path)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) on conflict (slug) do nothing`,
    serverParams(s),
  );
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
];
