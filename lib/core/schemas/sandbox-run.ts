import { z } from "zod";
import { Id } from "./common";

export const SandboxRunInput = z
  .strictObject({
    account_id: Id,
    command: z.union([z.array(z.string().max(10_000)).min(1).max(1000), z.string().trim().min(1).max(10_000)]).meta({
      description: "An argv array, or a command line split like a shell would (quotes honoured) but never run by one.",
    }),
    stdin: z.string().max(60_000).optional(),
    timeout: z.number().int().min(1).max(600).default(30).meta({ description: "Whole seconds, 1 to 600." }),
  })
  .meta({ id: "SandboxRunInput" });
export type SandboxRunInput = z.infer<typeof SandboxRunInput>;

export const SandboxRunResult = z
  .object({
    stdout: z.string(),
    stderr: z.string(),
    exit_code: z.number().int().nullable().meta({ description: "null when the command was killed (timeout)." }),
    duration_ms: z.number().int(),
    truncated: z.boolean().meta({ description: "stdout or stderr was cut at 1 MiB." }),
    timed_out: z.boolean(),
  })
  .meta({ id: "SandboxRunResult" });
