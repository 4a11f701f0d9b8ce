-- A connection's tool policy (lib/core/schemas/tool-policy.ts): which of its server's tools the
-- MCP endpoint offers, under which names. Null: every tool, as the server offers it.
alter table mcp_connections add column if not exists tool_policy jsonb;

-- Changing it is recorded on the connection's timeline.
alter table connection_events drop constraint if exists connection_events_type_check;
alter table connection_events add constraint connection_events_type_check check (type in ('installed', 'deploying',
  'running', 'failed', 'crashed', 'extended', 'expired', 'restarted', 'credentials_updated', 'deleted', 'tool_call',
  'tool_policy_changed', 'tool_approval'));

-- Tool calls waiting for an owner's or admin's decision (a tool policy's `approval`). The call
-- waits in the Berth instance that holds the client's request; the decision can come through any
-- instance, which announces it on `berth_tool_approval`.
create table if not exists tool_approvals (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts (id) on delete cascade,
  connection_id uuid not null,
  -- The server's name for the tool, and the one the client called it by.
  tool text not null,
  called_as text not null,
  -- What the agent asked for, shown to whoever decides (cut short; a tool's arguments are the agent's, not secrets of the account).
  arguments text not null,
  -- The MCP client that called (its clientInfo name).
  client text not null,
  -- cancelled: its client withdrew the call (cancelled it, or left) before anyone decided.
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected', 'expired', 'cancelled')),
  decided_by text,
  decided_by_user uuid,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  decided_at timestamptz
);
create index if not exists tool_approvals_account_idx on tool_approvals (account_id, status, created_at desc);

alter table tool_approvals enable row level security;
do $$
begin
  if to_regrole('anon') is not null then
    revoke all on tool_approvals from anon;
  end if;
  if to_regrole('authenticated') is not null then
    revoke all on tool_approvals from authenticated;
    grant select (tool_policy) on mcp_connections to authenticated;
  end if;
end $$;

-- What an API key may reach: `admin`, the REST API and MCP endpoints (every key made before); `mcp`,
-- MCP endpoints only: an agent's key, which cannot change the tool policy it is held to nor decide
-- the approvals its own calls wait for.
alter table api_keys add column if not exists scope text not null default 'admin' check (scope in ('admin', 'mcp'));
do $$
begin
  if to_regrole('authenticated') is not null then
    grant select (scope) on api_keys to authenticated;
  end if;
end $$;
