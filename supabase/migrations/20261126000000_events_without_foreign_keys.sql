-- connection_events is an append-only log written at the rate agents call tools. Its two foreign
-- keys cost as much as the rest of an insert (PGlite, 1,000-row batches: 31 µs a row with them,
-- 17 µs without) and protect nothing Berth can do: events are only written for connections that
-- exist, connections are never deleted (only marked `deleted`) and accounts are never deleted.
alter table connection_events drop constraint if exists connection_events_account_id_fkey;
alter table connection_events drop constraint if exists connection_events_connection_id_fkey;
