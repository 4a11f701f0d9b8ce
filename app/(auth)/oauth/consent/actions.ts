"use server";

import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import { getAppDeps } from "@/lib/app-deps";
import { answerConsent } from "@/lib/auth/oauth/consent";

/** Allow or deny an MCP client's request for a connection; answers where the browser goes next. */
export const answerConsentAction = defineAction(
  z.strictObject({ request: z.uuid({ error: "No such request." }), allow: z.boolean() }),
  (ctx, { request, allow }) => answerConsent(ctx, getAppDeps().oauth, request, allow),
);
