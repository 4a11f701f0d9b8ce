-- Per-connection tool-call counters, kept by the gateway's audit log (one batched update per
-- flush) so the connection API can answer them without counting events.
alter table mcp_connections add column if not exists tool_calls bigint not null default 0;
alter table mcp_connections add column if not exists tool_errors bigint not null default 0;
