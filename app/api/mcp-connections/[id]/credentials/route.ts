import { putCredentials } from "@/lib/core/http/connections";
import { nextRoute } from "@/lib/next/route";

export const PUT = nextRoute(putCredentials);
