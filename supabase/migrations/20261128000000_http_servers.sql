-- Servers that speak MCP over Streamable HTTP themselves: Berth starts them in the sandbox and
-- reaches them on `port` at `path` (stdio servers leave both null).
alter table mcp_servers
  add column if not exists transport text not null default 'stdio'
    check (transport in ('stdio', 'streamable-http')),
  add column if not exists port integer check (port between 1 and 65535),
  add column if not exists path text check (path like '/%'),
  add constraint mcp_servers_http_needs_port check ((transport = 'streamable-http') = (port is not null));
