import { resources } from "@/lib/core/http/inspector";
import { nextRoute } from "@/lib/next/route";

export const GET = nextRoute(resources);
