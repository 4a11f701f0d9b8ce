-- Lists at scale: keyset pages (lib/core/pagination.ts) and the maintenance loop's claims read
-- through these indexes, whatever the number of connections and events (tests/data/query-plans.test.ts
-- checks the plans on PostgreSQL).

-- The connections list of an account, newest first, deep pages included: (created_at, id) < cursor.
-- Deleted connections are never listed, and never leave the table (they are only marked).
create index if not exists mcp_connections_account_page_idx on mcp_connections (account_id, created_at, id)
  where status <> 'deleted';

-- The maintenance claims (lib/db/queries/maintenance.ts), each over the few rows in its status.
create index if not exists mcp_connections_keep_alive_due_idx on mcp_connections (expires_at)
  where status = 'running' and keep_alive;
create index if not exists mcp_connections_expiry_due_idx on mcp_connections (expires_at)
  where status = 'running' and not keep_alive;
create index if not exists mcp_connections_restart_due_idx on mcp_connections (next_restart_at)
  where status = 'failed';
create index if not exists mcp_connections_stuck_deploy_idx on mcp_connections (updated_at)
  where status = 'deploying';
create index if not exists mcp_connections_sandbox_age_idx on mcp_connections (started_at)
  where status = 'running';

-- A connection's last tool calls (the median on its card) without reading its lifecycle events,
-- and the retention's oldest tool calls first.
create index if not exists connection_events_tool_calls_idx on connection_events (connection_id, seq desc)
  where type = 'tool_call';
create index if not exists connection_events_tool_call_age_idx on connection_events (created_at)
  where type = 'tool_call';

-- Tool calls older than BERTH_EVENT_RETENTION_DAYS are pruned; each day of a connection's calls
-- is kept as counts (the connection's running totals, tool_calls and tool_errors, stay as they are).
create table if not exists tool_call_days (
  account_id uuid not null,
  connection_id uuid not null,
  day date not null,
  calls bigint not null,
  errors bigint not null,
  duration_ms double precision not null,
  primary key (connection_id, day)
);

alter table tool_call_days enable row level security;
drop policy if exists member_read on tool_call_days;
create policy member_read on tool_call_days for select
  using (account_id in (select public.berth_member_accounts())
    or account_id::text = current_setting('berth.account_id', true));
do $$
begin
  if to_regrole('anon') is not null then
    revoke all on tool_call_days from anon;
  end if;
  if to_regrole('authenticated') is not null then
    revoke all on tool_call_days from authenticated;
    grant select on tool_call_days to authenticated;
  end if;
end $$;
