import { restart } from "@/lib/core/http/connections";
import { nextRoute } from "@/lib/next/route";

export const POST = nextRoute(restart);
