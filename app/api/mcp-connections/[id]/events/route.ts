import { events } from "@/lib/core/http/connections";
import { nextRoute } from "@/lib/next/route";

export const GET = nextRoute(events);
