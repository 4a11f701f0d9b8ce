import { CallToolInput, type InspectKind as Kind } from "@/lib/core/schemas/inspector";
import { clientConfig } from "@/lib/core/services/connections/client-config";
import { callToolOnServer, listFromServer } from "@/lib/core/services/connections/inspect";
import { json, withAccount } from "./handler";

const list = (kind: Kind) => withAccount(null, async ({ ctx, id }) => json(await listFromServer(ctx, id, kind)));

export const tools = list("tools");
export const resources = list("resources");
export const prompts = list("prompts");

export const callTool = withAccount(CallToolInput, async ({ ctx, id, input }) =>
  json(await callToolOnServer(ctx, id, input)),
);

export const config = withAccount(null, async ({ ctx, id }) => json(await clientConfig(ctx, id)));
