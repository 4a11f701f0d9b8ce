import { get, remove } from "@/lib/core/http/connections";
import { nextRoute } from "@/lib/next/route";

export const GET = nextRoute(get);
export const DELETE = nextRoute(remove);
