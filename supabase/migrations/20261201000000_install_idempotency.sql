-- An install sent with an `Idempotency-Key` header: sending it again (a client retrying after a
-- timeout or a 503 whose work was in fact done) answers the connection it made instead of making
-- another. One live connection per key and account; a deleted connection frees its key.
alter table mcp_connections add column if not exists idempotency_key text;
create unique index if not exists mcp_connections_idempotency_key
  on mcp_connections (account_id, idempotency_key)
  where idempotency_key is not null and status <> 'deleted';
