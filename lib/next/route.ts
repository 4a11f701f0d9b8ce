import { getAppDeps } from "@/lib/app-deps";
import type { Handler, Params } from "@/lib/core/http/handler";

/** Adapts a core (Request → Response) handler to a Next.js route handler. */
export function nextRoute(handler: Handler) {
  return async (req: Request, context: { params: Promise<Params> }) =>
    handler(req, (await context.params) ?? {}, getAppDeps());
}
