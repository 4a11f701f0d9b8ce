import "server-only";
import type { z } from "zod";
import { getAppDeps } from "@/lib/app-deps";
import { getCurrentUser, userContext } from "@/lib/auth/current-user";
import type { Ctx } from "@/lib/core/context";
import { errorBody, isBerthError } from "@/lib/core/errors";
import { parseInput } from "@/lib/core/http/input";

/** What a dashboard action answers: its result, or an error in the REST API's shape (never a throw). */
export type ActionResult<T> =
  | { ok: true; data: T }
  | { ok: false; error: { code: string; message: string; details?: unknown } };

/**
 * The dashboard's mutations, as server actions over the same services as the REST routes: one
 * place that checks the session (every call, as an action is a public endpoint), parses the input
 * with the route's zod schema and maps errors to the contract's shape. Errors are returned, not
 * thrown, because Next.js hides a thrown error's message from the browser in production.
 */
export function defineAction<S extends z.ZodType, T>(schema: S, run: (ctx: Ctx, input: z.output<S>) => Promise<T>) {
  return async (raw: z.input<S>): Promise<ActionResult<T>> => {
    try {
      const user = await getCurrentUser();
      if (!user) return failure("unauthorized", "Your session has ended. Sign in again.");
      return { ok: true, data: await run(userContext(user), parseInput(schema, raw)) };
    } catch (err) {
      if (isBerthError(err)) return { ok: false, ...errorBody(err.code, err.message, err.details) };
      getAppDeps().log.error({ err }, "dashboard action failed");
      return failure("internal_error", "Something went wrong on our side.");
    }
  };
}

function failure(code: "unauthorized" | "internal_error", message: string): ActionResult<never> {
  return { ok: false, error: { code, message } };
}
