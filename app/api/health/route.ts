import { health } from "@/lib/core/http/health";
import { nextRoute } from "@/lib/next/route";

export const dynamic = "force-dynamic";
export const GET = nextRoute(health);
