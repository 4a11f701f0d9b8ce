import type { Deps } from "@/lib/core/context";
import { type ServerDefinitionInput, serverFieldsOf } from "@/lib/core/schemas/server-definition";
import { listServers, upsertServer } from "@/lib/db/queries/servers";
import { getServerOrThrow } from "../scope";

export const listDefinitions = (deps: Pick<Deps, "db">) => listServers(deps.db);

export const getDefinition = (deps: Pick<Deps, "db">, idOrSlug: string) => getServerOrThrow(deps, idOrSlug);

/** Adds a definition to the shared catalogue, or replaces the one with the same slug. */
export const addDefinition = (deps: Pick<Deps, "db">, input: ServerDefinitionInput) =>
  upsertServer(deps.db, serverFieldsOf(input));
