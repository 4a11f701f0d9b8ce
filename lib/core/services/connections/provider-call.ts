import type { Ctx } from "@/lib/core/context";
import { BerthError, isBerthError } from "@/lib/core/errors";

/**
 * A sandbox runtime call on a connection's behalf (stop, set its expiry): when the provider fails
 * (E2B down or refusing, a kill that does not happen), the answer is the contract's 502
 * `sandbox_provider_failed` with the provider's words, never a 500.
 */
export async function providerCall<T>(ctx: Pick<Ctx, "log">, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isBerthError(err)) throw err;
    ctx.log.error({ err }, `the sandbox provider failed to ${what}`);
    const message = err instanceof Error ? err.message : String(err);
    throw new BerthError("sandbox_provider_failed", `The sandbox provider failed to ${what}: ${message}`);
  }
}
