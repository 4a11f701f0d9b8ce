import { docsPage } from "@/lib/core/http/openapi";
import { nextRoute } from "@/lib/next/route";

export const dynamic = "force-dynamic";
export const GET = nextRoute(docsPage);
