-- Built-in sign-in sessions. The sealed cookie names one of these rows; signing out revokes the
-- row, so a copy of the cookie stops working at once instead of at the end of the seal's TTL.
-- Supabase Auth keeps its own sessions and never uses this table.
create table if not exists user_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index if not exists user_sessions_user_idx on user_sessions (user_id);
-- Server-side only: no policy, so no Supabase role but the owner reads or writes it.
alter table user_sessions enable row level security;
