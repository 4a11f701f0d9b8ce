import { run } from "@/lib/core/http/sandbox-runs";
import { nextRoute } from "@/lib/next/route";

export const POST = nextRoute(run);
