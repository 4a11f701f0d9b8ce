// Berth's REST API as a Supabase Edge Function: the app's own route table and services
// (lib/core), on the project's Postgres with E2B sandboxes. Deployed with
// `supabase functions deploy mcp-connections --use-api`; served locally by `npm run functions:serve`.
import { createEdgeHandler } from "@/lib/edge/app";

const handler = createEdgeHandler(Deno.env.toObject());
// A bad configuration fails every request with its message, not a silent crash loop.
handler.catch((err) => console.error(`mcp-connections cannot start: ${err.message}`));

const port = Deno.env.get("PORT");
Deno.serve(port ? { port: Number(port), hostname: Deno.env.get("HOST") ?? "127.0.0.1" } : {}, async (req) => {
  try {
    return (await handler)(req);
  } catch (err) {
    const message = `The function is not configured: ${(err as Error).message}`;
    return Response.json({ error: { code: "unavailable", message } }, { status: 503 });
  }
});
