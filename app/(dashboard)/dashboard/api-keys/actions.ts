"use server";

import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import { ApiKeyScope } from "@/lib/core/schemas/api-key";
import { createApiKey, revokeApiKey } from "@/lib/core/services/api-keys";

export const createApiKeyAction = defineAction(
  z.strictObject({
    name: z.string().trim().min(1, { error: "Name the key." }).max(200),
    scope: ApiKeyScope.default("admin"),
  }),
  (ctx, input) => createApiKey(ctx, input),
);

export const revokeApiKeyAction = defineAction(
  z.strictObject({ id: z.uuid({ error: "No such key." }) }),
  (ctx, { id }) => revokeApiKey(ctx, id),
);
