-- Members invited by email (built-in sign-in) and per-account settings.
--
-- An invitation is a single-use link: only the SHA-256 of its token is kept. The invited user
-- exists (without a password) and is a member from the moment of the invitation; accepting sets
-- their password. Server-only: RLS on, no policy, nothing granted to anon or authenticated.
create table if not exists member_invites (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  token_hash text not null unique,
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz
);
create index if not exists member_invites_member_idx on member_invites (account_id, user_id);
create index if not exists member_invites_user_idx on member_invites (user_id);

alter table member_invites enable row level security;

-- The lifetime new connections get when the install names none (null: the server's default_timeout).
alter table accounts
  add column if not exists default_timeout integer check (default_timeout between 60 and 86400);

do $$
begin
  if to_regrole('anon') is not null then
    revoke all on member_invites from anon;
  end if;
  if to_regrole('authenticated') is not null then
    revoke all on member_invites from authenticated;
  end if;
end $$;
