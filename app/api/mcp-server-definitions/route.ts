import { list } from "@/lib/core/http/definitions";
import { nextRoute } from "@/lib/next/route";

export const GET = nextRoute(list);
