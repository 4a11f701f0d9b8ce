import type { Db } from "@/lib/db/db";

export type ScaleSeed = {
  /** The account with `big` connections. */
  bigAccountId: string;
  /** Its newest connection, with `busyEvents` tool calls besides its lifecycle events. */
  busyConnectionId: string;
  connections: number;
  events: number;
};

/**
 * Many connections and events, made by the database itself (generate_series) so that 100,000
 * rows take seconds, on PGlite as on PostgreSQL: one account with `big` connections, `accounts`
 * more with `perAccount` each, statuses mixed as a busy Berth's would be (most running, a few
 * failed, deploying, expired or deleted; keep-alive on three in four), two lifecycle events per
 * connection and `busyEvents` tool calls on one. Their `host` is no Berth's, so a Berth started on
 * them redeploys none at start. Needs the catalogue seeded (the memory server).
 */
export async function seedScale(
  db: Db,
  { big = 10_000, accounts = 900, perAccount = 100, busyEvents = 1_000 } = {},
): Promise<ScaleSeed> {
  const [server] = await db.query<{ id: string }>("select id from mcp_servers where slug = 'memory'");
  if (!server) throw new Error("seed the catalogue first");
  const [bigAccount] = await db.query<{ id: string }>(
    "insert into accounts (name) values ('Scale: the big one') returning id",
  );
  const bigAccountId = (bigAccount as { id: string }).id;
  await db.query("insert into accounts (name) select 'Scale ' || g from generate_series(1, $1::int) g", [accounts]);
  // g numbers each connection; its status, keep-alive and times follow from it.
  const columns = `account_id, server_id, name, status, provider, credentials_ciphertext, credentials_key_id, keep_alive,
    timeout_seconds, expires_at, started_at, next_restart_at, created_at, updated_at, host`;
  const derived = `'conn ' || g,
    case when g % 100 = 0 then 'failed' when g % 100 = 1 then 'deploying' when g % 100 < 5 then 'deleted'
         when g % 100 < 15 then 'expired' else 'running' end,
    'local', 'not-a-ciphertext', 'k1', g % 4 <> 0, 3600,
    now() + (600 + g % 3000) * interval '1 second', now() - (g % 3000) * interval '1 second',
    case when g % 100 = 0 then now() + (g % 600) * interval '1 second' end,
    now() - g * interval '1 second', now() - (g % 600) * interval '1 second', 'scale-seed'`;
  await db.query(
    `insert into mcp_connections (${columns}) select $1::uuid, $2::uuid, ${derived} from generate_series(1, $3::int) g`,
    [bigAccountId, server.id, big],
  );
  await db.query(
    `insert into mcp_connections (${columns})
     select a.id, $1::uuid, ${derived}
     from (select id, (row_number() over (order by id))::int as n from accounts where name like 'Scale %') a
     cross join lateral (select a.n * $2::int + k as g from generate_series(1, $2::int) k) numbered`,
    [server.id, perAccount],
  );
  await db.query(
    `insert into connection_events (account_id, connection_id, type, data, created_at)
     select c.account_id, c.id, t.type, '{}', c.created_at + t.after
     from mcp_connections c
     cross join (values ('installed', interval '0'), ('running', interval '2 seconds')) t(type, after)`,
  );
  const [busy] = await db.query<{ id: string }>(
    "select id from mcp_connections where account_id = $1 and status <> 'deleted' order by created_at desc, id desc limit 1",
    [bigAccountId],
  );
  const busyConnectionId = (busy as { id: string }).id;
  await db.query(
    `insert into connection_events (account_id, connection_id, type, data, created_at)
     select $1, $2, 'tool_call',
       jsonb_build_object('tool', 'search', 'duration_ms', g % 50, 'outcome', 'ok', 'request_bytes', 100,
         'response_bytes', 1000),
       now() - g * interval '1 minute'
     from generate_series(1, $3::int) g`,
    [bigAccountId, busyConnectionId, busyEvents],
  );
  await db.exec("analyze mcp_connections; analyze connection_events; analyze accounts;");
  const [counts] = await db.query<{ connections: number; events: number }>(
    "select (select count(*) from mcp_connections)::int as connections, (select count(*) from connection_events)::int as events",
  );
  return { bigAccountId, busyConnectionId, connections: counts?.connections ?? 0, events: counts?.events ?? 0 };
}
