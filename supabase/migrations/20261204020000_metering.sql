-- Metering: each period a sandbox ran for an account, the durable record behind sandbox-seconds.
-- A connection's period opens when it becomes `running` and closes with any change away from it
-- (sleep, expiry, crash, restart, delete): whatever stops its sandbox closes the period, so a
-- sleeping connection accrues nothing. An open period counts up to now. One-off sandbox-runs are
-- recorded closed, when they end (connection_id null).
create table if not exists sandbox_usage (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts (id) on delete cascade,
  connection_id uuid references mcp_connections (id) on delete cascade,
  kind text not null check (kind in ('connection', 'one_off')),
  provider text not null,
  sandbox_id text,
  started_at timestamptz not null,
  ended_at timestamptz,
  check (ended_at is null or ended_at >= started_at),
  check ((kind = 'connection') = (connection_id is not null))
);
create index if not exists sandbox_usage_account_idx on sandbox_usage (account_id, started_at);
-- At most one open period per connection; closing finds it by this index.
create unique index if not exists sandbox_usage_open_idx on sandbox_usage (connection_id) where ended_at is null;

-- Tool calls of a period are counted from their events: by account and time.
create index if not exists connection_events_tool_calls_idx on connection_events (account_id, created_at)
  where type = 'tool_call';

alter table sandbox_usage enable row level security;
drop policy if exists member_read on sandbox_usage;
create policy member_read on sandbox_usage for select
  using (account_id in (select public.berth_member_accounts())
    or account_id::text = current_setting('berth.account_id', true));
do $$
begin
  if to_regrole('anon') is not null then
    revoke all on sandbox_usage from anon;
  end if;
  if to_regrole('authenticated') is not null then
    revoke all on sandbox_usage from authenticated;
    grant select on sandbox_usage to authenticated;
  end if;
end $$;
