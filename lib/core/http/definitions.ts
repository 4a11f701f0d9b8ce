import { toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { getDefinition, listDefinitions } from "@/lib/core/services/definitions/definitions";
import { json, withAccount } from "./handler";

export const list = withAccount(null, async ({ ctx }) =>
  json((await listDefinitions(ctx)).map(toServerDefinitionJson)),
);

export const get = withAccount(null, async ({ ctx, params }) =>
  json(toServerDefinitionJson(await getDefinition(ctx, String(params.idOrSlug ?? "")))),
);
