-- Idle sleep: a keep-alive connection whose MCP endpoint had no request for BERTH_IDLE_SLEEP_SECONDS
-- is put to sleep (its E2B sandbox paused, or its local server stopped with its home kept) and
-- woken by the next request. A sleeping connection holds no sandbox slot of its account.
alter table mcp_connections drop constraint if exists mcp_connections_status_check;
alter table mcp_connections add constraint mcp_connections_status_check
  check (status in ('deploying', 'running', 'failed', 'expired', 'deleted', 'auth_required', 'sleeping'));

alter table connection_events drop constraint if exists connection_events_type_check;
alter table connection_events add constraint connection_events_type_check check (type in ('installed', 'deploying',
  'running', 'failed', 'crashed', 'extended', 'expired', 'restarted', 'credentials_updated', 'deleted', 'tool_call',
  'tool_policy_changed', 'tool_approval', 'auth_required', 'authorized', 'token_refreshed', 'slept', 'woke'));
