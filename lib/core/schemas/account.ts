import { z } from "zod";
import { Id } from "./common";

const DefaultTimeout = z
  .number({ error: "Whole seconds, 60 to 86400." })
  .int({ error: "Whole seconds, 60 to 86400." })
  .min(60, { error: "At least 60 seconds." })
  .max(86400, { error: "At most 86400 seconds (a day)." });

export const AccountSettings = z
  .object({
    id: Id,
    name: z.string(),
    default_timeout: DefaultTimeout.nullable().meta({
      description:
        "Lifetime in seconds of a new connection whose install names no `timeout`; null: the server's default_timeout.",
    }),
  })
  .meta({ id: "AccountSettings" });
export type AccountSettings = z.output<typeof AccountSettings>;

export const UpdateAccountSettingsInput = z
  .strictObject({
    name: z
      .string({ error: "Enter a name." })
      .trim()
      .min(1, { error: "Enter a name." })
      .max(200, { error: "At most 200 characters." })
      .optional(),
    default_timeout: DefaultTimeout.nullable()
      .optional()
      .meta({ description: "Whole seconds, 60 to 86400; null goes back to each server's default_timeout." }),
  })
  .meta({ id: "UpdateAccountSettingsInput" });
export type UpdateAccountSettingsInput = z.input<typeof UpdateAccountSettingsInput>;
