/**
 * supabase-js builds its realtime client inside createClient, and realtime-js throws there on
 * Node 20, which has no global WebSocket. Berth's server never uses realtime (only Auth), so on
 * such a runtime a transport that refuses is enough; elsewhere the default stays.
 */
class NoWebSocket {
  constructor() {
    throw new Error("Supabase Realtime is not used on Berth's server.");
  }
}

/** Spread into the options of every server-side Supabase client. */
export const nodeRealtimeOption = globalThis.WebSocket
  ? {}
  : { realtime: { transport: NoWebSocket as unknown as typeof WebSocket } };
