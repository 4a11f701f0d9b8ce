-- Berth's first schema. Every account-owned table carries account_id, is filtered by it in
-- every query (lib/db/queries) and guarded by row level security for any role that is not
-- the table owner (Supabase's anon/authenticated roles see only their own account's rows).

create table if not exists accounts (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now()
);

create table if not exists users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique check (email = lower(email)),
  password_hash text,
  created_at timestamptz not null default now()
);

create table if not exists memberships (
  account_id uuid not null references accounts (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  primary key (account_id, user_id)
);
create index if not exists memberships_user_idx on memberships (user_id);

create table if not exists api_keys (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts (id) on delete cascade,
  name text not null default 'default',
  prefix text not null,
  key_hash text not null unique,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index if not exists api_keys_account_idx on api_keys (account_id);

create table if not exists mcp_servers (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  title text not null,
  description text not null default '',
  start_command text not null,
  credential_schema jsonb not null default '{"type":"object","properties":{}}',
  default_timeout integer not null check (default_timeout between 1 and 86400),
  version text not null default '1',
  env jsonb not null default '{}',
  network boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists mcp_connections (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts (id) on delete cascade,
  server_id uuid not null references mcp_servers (id),
  name text not null,
  status text not null check (status in ('deploying', 'running', 'failed', 'expired', 'deleted')),
  provider text not null,
  sandbox_id text,
  credentials_ciphertext text not null,
  credentials_key_id text not null,
  keep_alive boolean not null default true,
  timeout_seconds integer not null check (timeout_seconds between 1 and 86400),
  expires_at timestamptz not null,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists mcp_connections_account_idx on mcp_connections (account_id, created_at desc);
create index if not exists mcp_connections_status_idx on mcp_connections (status, expires_at);

create table if not exists connection_events (
  id uuid primary key default gen_random_uuid(),
  -- Orders events written in one transaction (same timestamp) as they were written.
  seq bigint generated always as identity,
  account_id uuid not null references accounts (id) on delete cascade,
  connection_id uuid not null references mcp_connections (id) on delete cascade,
  type text not null check (type in ('installed', 'deploying', 'running', 'failed', 'crashed', 'extended',
    'expired', 'restarted', 'credentials_updated', 'deleted', 'tool_call')),
  data jsonb not null default '{}',
  created_at timestamptz not null default clock_timestamp()
);
create index if not exists connection_events_connection_idx on connection_events (connection_id, seq desc);

-- Row level security: the owner role Berth connects as is not subject to it; any other role
-- sees only the account named by the `berth.account_id` setting of its session.
alter table memberships enable row level security;
alter table api_keys enable row level security;
alter table mcp_connections enable row level security;
alter table connection_events enable row level security;
drop policy if exists account_rows on memberships;
create policy account_rows on memberships using (account_id::text = current_setting('berth.account_id', true));
drop policy if exists account_rows on api_keys;
create policy account_rows on api_keys using (account_id::text = current_setting('berth.account_id', true));
drop policy if exists account_rows on mcp_connections;
create policy account_rows on mcp_connections using (account_id::text = current_setting('berth.account_id', true));
drop policy if exists account_rows on connection_events;
create policy account_rows on connection_events using (account_id::text = current_setting('berth.account_id', true));
