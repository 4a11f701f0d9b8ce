import { toErrorResponse } from "@/lib/core/errors";
import type { Handler } from "./handler";

/**
 * Readiness: `{"status":"ok"}` for anyone, since probes and load balancers carry no key;
 * the details (provider, isolation, database) only for an authenticated caller.
 */
export const health: Handler = async (req, _params, deps) => {
  try {
    const principal = await deps.authenticate(req);
    return Response.json({ status: "ok", ...(principal ? await deps.health() : {}) });
  } catch (err) {
    return toErrorResponse(err, (cause, requestId) => deps.log.error({ err: cause, requestId }, "health failed"));
  }
};
