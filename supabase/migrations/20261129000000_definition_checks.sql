-- A definition's credential check (`check` in the API; `check` itself is a reserved word): the tool
-- call a dry run makes after tools/list, {"tool", "arguments", "error_text"?}. Null: none declared.
alter table mcp_servers
  add column if not exists credential_check jsonb
    check (credential_check is null or (jsonb_typeof(credential_check) = 'object'
      and jsonb_typeof(credential_check -> 'tool') = 'string'
      and jsonb_typeof(credential_check -> 'arguments') = 'object'));

-- The catalogue is seeded only where a slug is new, so installations seeded before this migration
-- get the catalogue's checks here: only on rows still running the catalogue's own pinned command,
-- so an operator's own definition under one of these slugs is left as it is.
update mcp_servers set credential_check = '{"tool":"search_repositories","arguments":{"query":"modelcontextprotocol","perPage":1}}'
  where slug = 'github' and start_command = 'npx -y @modelcontextprotocol/server-github@2025.4.8' and credential_check is null;
update mcp_servers set credential_check = '{"tool":"brave_web_search","arguments":{"query":"mcp","count":1}}'
  where slug = 'brave-search' and start_command = 'npx -y @modelcontextprotocol/server-brave-search@0.6.2' and credential_check is null;
update mcp_servers set credential_check = '{"tool":"slack_get_users","arguments":{"limit":1},"error_text":"\"error\":"}'
  where slug = 'slack' and start_command = 'npx -y @modelcontextprotocol/server-slack@2025.4.25' and credential_check is null;
