-- Row level security keyed on Supabase Auth. A role subject to RLS (Supabase's `authenticated`,
-- reached through PostgREST with a user's JWT) reads only the rows of the accounts its user
-- (the JWT's `sub`, which is users.id) is a member of, and writes nothing: every write goes
-- through Berth's API, which connects as the tables' owner and is not subject to RLS.
-- The same file runs on Supabase (`supabase db push`), plain PostgreSQL and PGlite.

-- Supabase's roles. On Supabase they exist; elsewhere they are created bare. Roles belong to the
-- cluster, not the database, so another database's migration may create one at the same moment,
-- and an owner without CREATEROLE (plain PostgreSQL) cannot create them at all: Berth still
-- starts then, and the grants below skip the roles that are missing.
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      begin
        if r = 'service_role' then
          execute format('create role %I nologin noinherit bypassrls', r);
        else
          execute format('create role %I nologin noinherit', r);
        end if;
      exception
        when duplicate_object or unique_violation then null;
        when insufficient_privilege then
          raise warning 'berth: role % is missing and this user may not create it; it gets no grants', r;
      end;
    end if;
  end loop;
end $$;

-- auth.uid() and auth.jwt() with the semantics of Supabase's own (supabase/auth migrations):
-- the claims PostgREST sets per request, null when there are none. On Supabase they exist,
-- owned by supabase_auth_admin, and are left alone.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_namespace where nspname = 'auth') then
    create schema auth;
    grant usage on schema auth to public;
  end if;
  if not exists (
    select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'uid' and p.pronargs = 0
  ) then
    create function auth.uid() returns uuid language sql stable set search_path = '' as $f$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
  end if;
  if not exists (
    select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'jwt' and p.pronargs = 0
  ) then
    create function auth.jwt() returns jsonb language sql stable set search_path = '' as $f$
      select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $f$;
  end if;
end $$;

-- A Supabase user linked by id may have no email Berth knows. Unique and lower-case checks pass
-- null through (nulls are distinct; a null check is not false).
alter table users alter column email drop not null;

-- The accounts the calling user belongs to. SECURITY DEFINER: it reads memberships as the owner,
-- past RLS, so the memberships policy can use it without recursing into itself. The fixed, empty
-- search_path keeps a caller's objects out of it; it takes no argument, so called directly (it is
-- reachable as a PostgREST RPC) it tells a user only their own memberships. Berth's tables are in
-- public on Supabase, PostgreSQL and PGlite alike; named there, the body cannot be redirected.
create or replace function public.berth_member_accounts()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.account_id from public.memberships m where m.user_id = auth.uid()
$$;

-- Select-only policies: with RLS on and no insert/update/delete policy, writes by any role but
-- the owner are refused even where a grant would allow them. The `berth.account_id` setting
-- stays a second way in for Berth's own non-owner sessions: whoever can set it can as well set
-- request.jwt.claims, so it opens nothing the claims do not.
alter table accounts enable row level security;
alter table users enable row level security;
alter table memberships enable row level security;
alter table api_keys enable row level security;
alter table mcp_servers enable row level security;
alter table mcp_connections enable row level security;
alter table connection_events enable row level security;
alter table berth_settings enable row level security;

drop policy if exists member_read on accounts;
create policy member_read on accounts for select
  using (id in (select public.berth_member_accounts()) or id::text = current_setting('berth.account_id', true));

drop policy if exists account_rows on memberships;
drop policy if exists member_read on memberships;
create policy member_read on memberships for select
  using (account_id in (select public.berth_member_accounts())
    or account_id::text = current_setting('berth.account_id', true));

drop policy if exists account_rows on api_keys;
drop policy if exists member_read on api_keys;
create policy member_read on api_keys for select
  using (account_id in (select public.berth_member_accounts())
    or account_id::text = current_setting('berth.account_id', true));

drop policy if exists account_rows on mcp_connections;
drop policy if exists member_read on mcp_connections;
create policy member_read on mcp_connections for select
  using (account_id in (select public.berth_member_accounts())
    or account_id::text = current_setting('berth.account_id', true));

drop policy if exists account_rows on connection_events;
drop policy if exists member_read on connection_events;
create policy member_read on connection_events for select
  using (account_id in (select public.berth_member_accounts())
    or account_id::text = current_setting('berth.account_id', true));

-- A user sees themself and the members of their accounts (memberships is filtered by its own
-- policy inside the subquery).
drop policy if exists member_read on users;
create policy member_read on users for select
  using (id = (select auth.uid()) or id in (select m.user_id from memberships m));

-- The catalogue is shared by every account.
drop policy if exists catalogue_read on mcp_servers;
create policy catalogue_read on mcp_servers for select using (true);

-- berth_settings has no policy: nobody but the owner.

-- Grants. Supabase's default privileges give anon and authenticated everything on new tables in
-- public, so all is revoked first; then authenticated gets SELECT, on column lists where a table
-- holds a secret (a table-level grant would override any column revoke). Columns added later
-- are not readable until granted here. The identity sequence of connection_events goes too.
do $$
begin
  if to_regrole('anon') is not null then
    revoke all on accounts, users, memberships, api_keys, mcp_servers, mcp_connections, connection_events,
      berth_settings from anon;
    execute format('revoke all on sequence %s from anon', pg_get_serial_sequence('connection_events', 'seq'));
  end if;
  if to_regrole('authenticated') is not null then
    revoke all on accounts, users, memberships, api_keys, mcp_servers, mcp_connections, connection_events,
      berth_settings from authenticated;
    execute format('revoke all on sequence %s from authenticated', pg_get_serial_sequence('connection_events', 'seq'));
    grant select on accounts, memberships, mcp_servers, connection_events to authenticated;
    grant select (id, email, created_at) on users to authenticated;
    grant select (id, account_id, name, prefix, created_at, last_used_at, revoked_at) on api_keys to authenticated;
    grant select (id, account_id, server_id, name, status, provider, sandbox_id, credentials_key_id, keep_alive,
      timeout_seconds, expires_at, last_error, created_at, updated_at, host, started_at, restart_attempts,
      next_restart_at, tool_calls, tool_errors) on mcp_connections to authenticated;
  end if;
  -- Berth's own bookkeeping, present when Berth (not the Supabase CLI) runs the migrations.
  if to_regclass('berth_migrations') is not null then
    alter table berth_migrations enable row level security;
    if to_regrole('anon') is not null then
      revoke all on berth_migrations from anon;
    end if;
    if to_regrole('authenticated') is not null then
      revoke all on berth_migrations from authenticated;
    end if;
  end if;
end $$;
