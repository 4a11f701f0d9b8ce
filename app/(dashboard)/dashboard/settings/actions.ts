"use server";

import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import { updateAccountSettings } from "@/lib/core/services/settings";

export const updateSettingsAction = defineAction(
  z.strictObject({
    name: z.string().trim().min(1, { error: "Name the account." }).max(200),
    default_timeout: z
      .number({ error: "Whole minutes." })
      .int({ error: "Whole minutes." })
      .min(60, { error: "At least 1 minute." })
      .max(86_400, { error: "At most 24 hours (1440 minutes)." })
      .nullable(),
  }),
  (ctx, input) => updateAccountSettings(ctx, input),
);
