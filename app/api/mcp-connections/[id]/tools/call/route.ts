import { callTool } from "@/lib/core/http/inspector";
import { nextRoute } from "@/lib/next/route";

export const POST = nextRoute(callTool);
