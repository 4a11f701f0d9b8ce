import type { Ctx } from "@/lib/core/context";
import {
  CredentialsInput,
  ExtendInput,
  InstallInput,
  ListConnectionsQuery,
  toConnectionJson,
  toEventJson,
} from "@/lib/core/schemas/connection";
import { deleteConnection } from "@/lib/core/services/connections/delete";
import { dryRunConnection } from "@/lib/core/services/connections/dry-run";
import { extendConnection } from "@/lib/core/services/connections/extend";
import { getConnectionOrThrow } from "@/lib/core/services/connections/get";
import { installConnection } from "@/lib/core/services/connections/install";
import { listAccountConnections, listEventsOfConnection } from "@/lib/core/services/connections/list";
import { replaceCredentials } from "@/lib/core/services/connections/replace-credentials";
import { restartConnection } from "@/lib/core/services/connections/restart";
import type { ConnectionRow } from "@/lib/db/queries/connections";
import { toolCallMedians } from "@/lib/db/queries/tool-calls";
import { json, withAccount } from "./handler";

/** Route handlers shared by Next's route files and the Edge Function. */
async function many(ctx: Ctx, rows: ConnectionRow[]) {
  const medians = await toolCallMedians(ctx.db, { accountId: ctx.accountId, connectionIds: rows.map((r) => r.id) });
  const opts = { publicUrl: ctx.publicUrl, isolated: ctx.runtime.isolated };
  return rows.map((row) => toConnectionJson(row, { ...opts, p50: medians.get(row.id) }));
}

const out = async (ctx: Ctx, row: ConnectionRow) => (await many(ctx, [row]))[0];

export const install = withAccount(InstallInput, async ({ ctx, input }) => {
  if (input.dry_run) return json(await dryRunConnection(ctx, input));
  return json(await out(ctx, await installConnection(ctx, input)), 201);
});

export const list = withAccount(
  ListConnectionsQuery,
  async ({ ctx, input }) => json(await many(ctx, await listAccountConnections(ctx, input))),
  { input: "query" },
);

export const get = withAccount(null, async ({ ctx, id }) => json(await out(ctx, await getConnectionOrThrow(ctx, id))));

export const extend = withAccount(ExtendInput, async ({ ctx, id, input }) =>
  json(await out(ctx, await extendConnection(ctx, id, input))),
);

export const restart = withAccount(null, async ({ ctx, id }) =>
  json(await out(ctx, await restartConnection(ctx, id)), 202),
);

export const putCredentials = withAccount(CredentialsInput, async ({ ctx, id, input }) =>
  json(await out(ctx, await replaceCredentials(ctx, id, input))),
);

export const remove = withAccount(null, async ({ ctx, id }) => json(await out(ctx, await deleteConnection(ctx, id))));

export const events = withAccount(null, async ({ ctx, id }) =>
  json((await listEventsOfConnection(ctx, id)).map(toEventJson)),
);
