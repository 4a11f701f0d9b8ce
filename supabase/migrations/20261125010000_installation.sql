-- One id per Berth installation, shared by every instance on this database. Sandboxes carry it
-- in their metadata, so an instance reaps only its own installation's leftovers.
create table if not exists berth_settings (
  key text primary key,
  value text not null
);
insert into berth_settings (key, value) values ('installation_id', gen_random_uuid()::text)
  on conflict (key) do nothing;
alter table berth_settings enable row level security;
