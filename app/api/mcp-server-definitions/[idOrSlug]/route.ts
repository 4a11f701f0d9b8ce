import { get } from "@/lib/core/http/definitions";
import { nextRoute } from "@/lib/next/route";

export const GET = nextRoute(get);
