-- Upstream OAuth: a definition may declare how its server's token is obtained through OAuth
-- ("Connect with GitHub") instead of pasted (lib/core/schemas/upstream-oauth.ts). Null: pasted only.
alter table mcp_servers add column if not exists oauth jsonb;

-- A connection authorized through OAuth keeps its refresh token inside its encrypted credentials
-- (lib/core/services/connections/credentials.ts), beside the values the token answer filled.
-- oauth_expires_at: when its access token expires; oauth_refresh_at: when maintenance next
-- refreshes it (a little before); a refresh under way pushes it on a minute, so one instance
-- refreshes it at a time.
alter table mcp_connections add column if not exists oauth_expires_at timestamptz;
alter table mcp_connections add column if not exists oauth_refresh_at timestamptz;
create index if not exists mcp_connections_oauth_refresh_idx on mcp_connections (oauth_refresh_at)
  where oauth_refresh_at is not null;

-- auth_required: its upstream authorization is missing or no longer works; an admin connects again.
alter table mcp_connections drop constraint if exists mcp_connections_status_check;
alter table mcp_connections add constraint mcp_connections_status_check
  check (status in ('deploying', 'running', 'failed', 'expired', 'deleted', 'auth_required'));

alter table connection_events drop constraint if exists connection_events_type_check;
alter table connection_events add constraint connection_events_type_check check (type in ('installed', 'deploying',
  'running', 'failed', 'crashed', 'extended', 'expired', 'restarted', 'credentials_updated', 'deleted', 'tool_call',
  'tool_policy_changed', 'tool_approval', 'auth_required', 'authorized', 'token_refreshed'));

-- Authorizations under way: the state sent to the provider (its SHA-256 here), the PKCE verifier
-- that goes with it, and where the browser returns after. Single use, ten minutes.
create table if not exists upstream_oauth_flows (
  state_hash text primary key,
  account_id uuid not null references accounts (id) on delete cascade,
  connection_id uuid not null,
  code_verifier text not null,
  return_to text not null,
  expires_at timestamptz not null
);
create index if not exists upstream_oauth_flows_expiry_idx on upstream_oauth_flows (expires_at);

alter table upstream_oauth_flows enable row level security;
do $$
begin
  if to_regrole('anon') is not null then
    revoke all on upstream_oauth_flows from anon;
  end if;
  if to_regrole('authenticated') is not null then
    revoke all on upstream_oauth_flows from authenticated;
  end if;
end $$;

-- The catalogue is seeded only where a slug is new: installations seeded before get the GitHub
-- and Slack declarations here, on rows still running the catalogue's own pinned command.
update mcp_servers set oauth = '{"provider":"GitHub","authorization_url":"https://github.com/login/oauth/authorize","token_url":"https://github.com/login/oauth/access_token","scopes":["repo"],"scope_delimiter":" ","env":{"GITHUB_PERSONAL_ACCESS_TOKEN":"access_token"},"refresh":true,"authorization_params":{}}'
  where slug = 'github' and start_command = 'npx -y @modelcontextprotocol/server-github@2025.4.8' and oauth is null;
update mcp_servers set oauth = '{"provider":"Slack","authorization_url":"https://slack.com/oauth/v2/authorize","token_url":"https://slack.com/api/oauth.v2.access","scopes":["channels:history","channels:read","chat:write","reactions:write","users:read","users.profile:read"],"scope_delimiter":",","env":{"SLACK_BOT_TOKEN":"access_token","SLACK_TEAM_ID":"team.id"},"refresh":true,"authorization_params":{}}'
  where slug = 'slack' and start_command = 'npx -y @modelcontextprotocol/server-slack@2025.4.25' and oauth is null;
