-- Berth as the OAuth 2.1 authorization server of its MCP endpoints (lib/auth/oauth/). Tokens and
-- codes are kept as SHA-256 hashes only; each grant (a user's consent for one client on one
-- connection) is a family of access and refresh tokens, revoked together.

-- Clients registered dynamically (RFC 7591): their registration as the SDK answers it.
create table if not exists oauth_clients (
  client_id text primary key,
  info jsonb not null,
  created_at timestamptz not null default now()
);

-- An authorization waiting for the user's consent (10 minutes).
create table if not exists oauth_requests (
  id uuid primary key default gen_random_uuid(),
  client_id text not null,
  redirect_uri text not null,
  code_challenge text not null,
  state text,
  scopes text not null default '',
  connection_id uuid not null,
  resource text not null,
  expires_at timestamptz not null
);

create table if not exists oauth_codes (
  code_hash text primary key,
  client_id text not null,
  account_id uuid not null references accounts (id) on delete cascade,
  user_id uuid not null,
  connection_id uuid not null,
  resource text not null,
  redirect_uri text not null,
  code_challenge text not null,
  scopes text not null default '',
  expires_at timestamptz not null,
  used_at timestamptz
);

create table if not exists oauth_tokens (
  token_hash text primary key,
  kind text not null check (kind in ('access', 'refresh')),
  family_id uuid not null,
  client_id text not null,
  account_id uuid not null references accounts (id) on delete cascade,
  user_id uuid not null,
  connection_id uuid not null,
  resource text not null,
  scopes text not null default '',
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index if not exists oauth_tokens_family_idx on oauth_tokens (family_id);
create index if not exists oauth_tokens_connection_idx on oauth_tokens (account_id, connection_id);

alter table oauth_clients enable row level security;
alter table oauth_requests enable row level security;
alter table oauth_codes enable row level security;
alter table oauth_tokens enable row level security;
do $$
begin
  if to_regrole('anon') is not null then
    revoke all on oauth_clients, oauth_requests, oauth_codes, oauth_tokens from anon;
  end if;
  if to_regrole('authenticated') is not null then
    revoke all on oauth_clients, oauth_requests, oauth_codes, oauth_tokens from authenticated;
  end if;
end $$;
