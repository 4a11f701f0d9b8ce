import { SandboxRunInput } from "@/lib/core/schemas/sandbox-run";
import { runInSandbox } from "@/lib/core/services/sandbox-runs/run";
import { json, withAccount } from "./handler";

export const run = withAccount(SandboxRunInput, async ({ ctx, input }) => json(await runInSandbox(ctx, input)));
