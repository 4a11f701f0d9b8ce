import { z } from "zod";

export const Seconds = z.number().int().min(1).max(86400).meta({ description: "Whole seconds, 1 to 86400." });

export const Id = z.uuid({ error: "Must be a UUID." });

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ example: "bad_request" }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: "Error" });

/** Dates leave the API as ISO 8601 UTC strings. */
export const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
