"use server";

import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import { ServerDefinitionInput, toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { createDefinition, removeDefinition, updateDefinition } from "@/lib/core/services/definitions/definitions";

const Slug = z.string().min(1).max(63);

export const createDefinitionAction = defineAction(ServerDefinitionInput, async (ctx, input) =>
  toServerDefinitionJson(await createDefinition(ctx, input)),
);

export const updateDefinitionAction = defineAction(
  z.strictObject({ slug: Slug, definition: ServerDefinitionInput }),
  async (ctx, { slug, definition }) => toServerDefinitionJson(await updateDefinition(ctx, slug, definition)),
);

export const removeDefinitionAction = defineAction(z.strictObject({ slug: Slug }), (ctx, { slug }) =>
  removeDefinition(ctx, slug),
);
