import type { Client } from "pg";
import { KEY_REVOKED_CHANNEL } from "./queries/api-keys";

export type KeyRevocationListener = { close(): Promise<void> };

/**
 * Hears API key revocations made by any process on this PostgreSQL database (LISTEN on
 * KEY_REVOKED_CHANNEL, on a connection of its own), so each Berth drops a revoked key from its
 * cache at once. `onListening` once LISTEN holds; `onLost` when the connection drops (news may be
 * missed until it is back: the caller stops trusting its cache), then it reconnects, backing off
 * from 0.5 s to 10 s.
 */
export function listenForKeyRevocations(
  url: string,
  handlers: { onRevoked(keyId: string): void; onListening(): void; onLost(err: unknown): void },
): KeyRevocationListener {
  let client: Client | undefined;
  let closed = false;
  let delay = 500;
  let timer: NodeJS.Timeout | undefined;

  const lost = (err: unknown) => {
    if (closed) return;
    handlers.onLost(err);
    client?.removeAllListeners();
    client?.end().catch(() => {});
    client = undefined;
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 10_000);
  };

  async function connect() {
    if (closed) return;
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString: url });
    client = c;
    c.on("error", lost);
    c.on("end", () => lost(new Error("the connection ended")));
    c.on("notification", (n) => {
      if (n.channel === KEY_REVOKED_CHANNEL && n.payload) handlers.onRevoked(n.payload);
    });
    try {
      await c.connect();
      await c.query(`listen ${KEY_REVOKED_CHANNEL}`);
      if (closed) return;
      delay = 500;
      handlers.onListening();
    } catch (err) {
      if (client === c) lost(err);
    }
  }

  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      c?.removeAllListeners();
      await c?.end().catch(() => {});
    },
  };
}
