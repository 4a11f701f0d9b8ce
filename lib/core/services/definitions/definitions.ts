import { CATALOGUE } from "@/lib/catalogue/catalogue";
import type { Ctx, Deps } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { type PageQuery, pageOf, TitleAndId, toPage } from "@/lib/core/pagination";
import { type ServerDefinitionInput, serverFieldsOf } from "@/lib/core/schemas/server-definition";
import { isOperator } from "@/lib/db/queries/accounts";
import {
  countServerConnections,
  listServers,
  markServerRemoved,
  type ServerRow,
  upsertServer,
} from "@/lib/db/queries/servers";
import { getServerOrThrow } from "../scope";

/** The catalogue, by title: all of it, or a page (rows; the caller presents them). */
export async function listDefinitions(deps: Pick<Deps, "db">, query: PageQuery = {}) {
  const page = pageOf(query, "definitions", TitleAndId);
  const rows = await listServers(deps.db, { page });
  return toPage(
    rows,
    page,
    "definitions",
    (r) => [r.title, r.id],
    (shown) => shown,
  );
}

export const getDefinition = (deps: Pick<Deps, "db">, idOrSlug: string, options?: { includeRemoved?: boolean }) =>
  getServerOrThrow(deps, idOrSlug, options);

/** Whether a definition is one Berth ships (as shipped), rather than one an operator added or changed. */
export const isBuiltIn = (definition: { slug: string; start_command: string }) =>
  CATALOGUE.some((c) => c.slug === definition.slug && c.start_command === definition.start_command);

type Caller = Pick<Ctx, "db" | "actor">;

/**
 * Whether the caller keeps the catalogue, which every account shares: Berth itself (the CLI at
 * the host) and the people made operators; never an API key, whose rights end at its account.
 */
export async function canEditCatalogue(ctx: Caller) {
  if (ctx.actor.kind === "system") return true;
  return ctx.actor.kind === "user" && isOperator(ctx.db, { userId: ctx.actor.userId });
}

async function requireOperator(ctx: Caller) {
  if (!(await canEditCatalogue(ctx)))
    throw new BerthError("forbidden", "Only an operator of this Berth can change the catalogue.");
}

/** Adds a definition to the shared catalogue, or replaces the one with the same slug. */
export async function addDefinition(ctx: Caller, input: ServerDefinitionInput) {
  await requireOperator(ctx);
  return (await upsertServer(ctx.db, serverFieldsOf(input))) as ServerRow; // "any" always writes
}

/**
 * A new definition: refused when its slug is taken in the catalogue (a removed one's slug may be
 * used again, and brings it back with these fields).
 */
export async function createDefinition(ctx: Caller, input: ServerDefinitionInput) {
  await requireOperator(ctx);
  const created = await upsertServer(ctx.db, serverFieldsOf(input), "removed");
  if (!created)
    throw new BerthError("conflict", `The catalogue already has "${input.slug}"; edit it instead.`, [
      { path: "slug", message: "Taken: another server in the catalogue has this slug." },
    ]);
  return created;
}

/**
 * Changes a definition in the catalogue; its slug, which installs and connections name it by,
 * stays. New installs get the change at once; running connections at their next start.
 */
export async function updateDefinition(ctx: Caller, slug: string, input: ServerDefinitionInput) {
  await requireOperator(ctx);
  if (input.slug !== slug)
    throw new BerthError("bad_request", "A definition's slug cannot change.", [
      { path: "slug", message: "Cannot change: add a new server instead." },
    ]);
  await getServerOrThrow(ctx, slug);
  // Removed since the line above: not found, rather than brought back.
  const updated = await upsertServer(ctx.db, serverFieldsOf(input), "live");
  if (!updated) throw new BerthError("not_found", `No server definition "${slug}".`);
  return updated;
}

/**
 * Takes a definition out of the catalogue: no new install, while the connections already running
 * it keep running (and restarting) until they are deleted. Answers how many there are.
 */
export async function removeDefinition(ctx: Caller, slug: string) {
  await requireOperator(ctx);
  const server = await getServerOrThrow(ctx, slug);
  if (!(await markServerRemoved(ctx.db, { id: server.id })))
    throw new BerthError("not_found", `No server definition "${slug}".`);
  return { slug: server.slug, connections: await countServerConnections(ctx.db, { serverId: server.id }) };
}

/** How many connections, of all accounts, run a definition (what removing it would leave running). */
export async function countDefinitionConnections(ctx: Caller, slug: string) {
  await requireOperator(ctx);
  const server = await getServerOrThrow(ctx, slug);
  return countServerConnections(ctx.db, { serverId: server.id });
}
