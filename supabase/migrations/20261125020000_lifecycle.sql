-- Lifecycle bookkeeping: which Berth instance hosts a connection's sandbox (local sandboxes
-- live in one process), when the current sandbox started, and crash-restart backoff.
alter table mcp_connections add column if not exists host text;
alter table mcp_connections add column if not exists started_at timestamptz;
alter table mcp_connections add column if not exists restart_attempts integer not null default 0;
alter table mcp_connections add column if not exists next_restart_at timestamptz;
create index if not exists mcp_connections_restart_idx on mcp_connections (next_restart_at) where next_restart_at is not null;
