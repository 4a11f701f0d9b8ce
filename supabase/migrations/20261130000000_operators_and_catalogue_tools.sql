-- Operators and the catalogue they keep.
--
-- An operator edits the catalogue, which every account shares: a person Berth's operator made one
-- (`npx berth operators grant`, or first-run setup, whose user installed this Berth). Not readable
-- by Supabase's roles: the column is not among those granted on users.
alter table users add column if not exists operator boolean not null default false;

-- A definition removed from the catalogue is kept, marked: the connections installed from it keep
-- running and restarting from it, and a later seed does not bring a removed built-in back.
alter table mcp_servers add column if not exists removed_at timestamptz;

-- The names of the tools a server offers, as its definition declares them (shown in the
-- catalogue before anyone installs it). Null: not declared.
alter table mcp_servers
  add column if not exists tools jsonb check (tools is null or jsonb_typeof(tools) = 'array');

-- The catalogue is seeded only where a slug is new, so installations seeded before this migration
-- get the catalogue's tool lists here: only on rows still running the catalogue's own pinned
-- command (an operator's own definition under one of these slugs is left as it is).
update mcp_servers set tools = '["create_entities","create_relations","add_observations","delete_entities","delete_observations","delete_relations","read_graph","search_nodes","open_nodes"]'
  where slug = 'memory' and start_command = 'npx -y @modelcontextprotocol/server-memory@2026.8.31' and tools is null;
update mcp_servers set tools = '["echo","get-annotated-message","get-env","get-resource-links","get-resource-reference","get-structured-content","get-sum","get-tiny-image","gzip-file-as-resource","toggle-simulated-logging","toggle-subscriber-updates","trigger-long-running-operation","get-roots-list","trigger-elicitation-request","trigger-sampling-request","simulate-research-query"]'
  where slug in ('everything', 'everything-http') and start_command like 'npx -y @modelcontextprotocol/server-everything@2026.8.31 %' and tools is null;
update mcp_servers set tools = '["read_file","read_text_file","read_media_file","read_multiple_files","write_file","edit_file","create_directory","list_directory","list_directory_with_sizes","directory_tree","move_file","search_files","get_file_info","list_allowed_directories"]'
  where slug = 'filesystem' and start_command = 'npx -y @modelcontextprotocol/server-filesystem@2026.8.31 .' and tools is null;
update mcp_servers set tools = '["sequentialthinking"]'
  where slug = 'sequential-thinking' and start_command = 'npx -y @modelcontextprotocol/server-sequential-thinking@2026.8.31' and tools is null;
update mcp_servers set tools = '["create_or_update_file","search_repositories","create_repository","get_file_contents","push_files","create_issue","create_pull_request","fork_repository","create_branch","list_commits","list_issues","update_issue","add_issue_comment","search_code","search_issues","search_users","get_issue","get_pull_request","list_pull_requests","create_pull_request_review","merge_pull_request","get_pull_request_files","get_pull_request_status","update_pull_request_branch","get_pull_request_comments","get_pull_request_reviews"]'
  where slug = 'github' and start_command = 'npx -y @modelcontextprotocol/server-github@2025.4.8' and tools is null;
update mcp_servers set tools = '["brave_web_search","brave_local_search"]'
  where slug = 'brave-search' and start_command = 'npx -y @modelcontextprotocol/server-brave-search@0.6.2' and tools is null;
update mcp_servers set tools = '["slack_list_channels","slack_post_message","slack_reply_to_thread","slack_add_reaction","slack_get_channel_history","slack_get_thread_replies","slack_get_users","slack_get_user_profile"]'
  where slug = 'slack' and start_command = 'npx -y @modelcontextprotocol/server-slack@2025.4.25' and tools is null;
