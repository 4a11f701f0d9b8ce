import { timingSafeEqual } from "node:crypto";

/**
 * Whether a request carries the service key (`Authorization: Bearer <SUPABASE_SERVICE_ROLE_KEY>`),
 * compared in constant time. No key configured: nobody is the service.
 */
export function serviceKeyCheck(serviceKey: string | undefined) {
  const want = serviceKey ? new TextEncoder().encode(`Bearer ${serviceKey}`) : undefined;
  return (req: Request) => {
    if (!want) return false;
    const got = new TextEncoder().encode(req.headers.get("authorization") ?? "");
    return got.length === want.length && timingSafeEqual(got, want);
  };
}
