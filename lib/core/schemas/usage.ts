import { z } from "zod";
import { Id } from "./common";

const Instant = z.iso
  .datetime({ offset: true, error: "Must be an ISO 8601 date-time, like 2026-12-01T00:00:00Z." })
  .transform((s) => new Date(s));

/** The longest period one question may span: a year and a day, so any calendar year fits. */
const MAX_PERIOD_DAYS = 366;

export const UsageQuery = z
  .strictObject({
    account_id: Id.optional().meta({ description: "Your account's id; another account's id answers 404." }),
    from: Instant.optional().meta({
      description: "Start of the period (inclusive); default: the current UTC month's start.",
    }),
    to: Instant.optional().meta({ description: "End of the period (exclusive); default: now." }),
  })
  .superRefine((q, ctx) => {
    // Zod runs this on a query whose dates failed to parse too: then they are still strings.
    if (!(q.from instanceof Date && q.to instanceof Date)) return;
    if (q.from >= q.to)
      ctx.addIssue({ code: "custom", path: ["to"], message: "Must be after `from`." });
    if (q.to.getTime() - q.from.getTime() > MAX_PERIOD_DAYS * 86_400_000)
      ctx.addIssue({ code: "custom", path: ["to"], message: `The period may span at most ${MAX_PERIOD_DAYS} days.` });
  });
export type UsageQuery = z.output<typeof UsageQuery>;

const Counts = {
  sandbox_seconds: z.number().meta({ description: "Seconds sandboxes ran (to the millisecond)." }),
  tool_calls: z.number().int().meta({ description: "Tool calls answered through the MCP endpoint." }),
  tool_errors: z.number().int().meta({ description: "Of those, calls answered with an error." }),
};

export const Usage = z
  .object({
    account_id: Id,
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    ...Counts,
    connections: z.array(
      z.object({
        connection_id: Id,
        name: z.string().nullable(),
        server_slug: z.string().nullable(),
        provider: z.string().nullable(),
        ...Counts,
      }),
    ),
    one_off: z
      .object({ sandbox_seconds: Counts.sandbox_seconds })
      .meta({ description: "Sandbox-runs (`POST /api/sandbox-runs`), each metered when it ends." }),
  })
  .meta({ id: "Usage" });
export type Usage = z.infer<typeof Usage>;
