import type { Client } from "pg";

export type NotificationListener = { close(): Promise<void> };

/**
 * Hears what any process on this PostgreSQL database announces with pg_notify on `channels` (an
 * API key revoked, a tool policy changed), on a connection of its own, so each Berth acts on it at
 * once. `onListening` once LISTEN holds on every channel; `onLost` when the connection drops (news
 * may be missed until it is back: the caller stops trusting what it caches, and catches up at the
 * next `onListening`), then it reconnects, backing off from 0.5 s to 10 s.
 */
export function listenForNotifications(
  url: string,
  handlers: { channels: Record<string, (payload: string) => void>; onListening(): void; onLost(err: unknown): void },
): NotificationListener {
  let client: Client | undefined;
  let closed = false;
  let delay = 500;
  let timer: NodeJS.Timeout | undefined;

  const lost = (err: unknown) => {
    if (closed) return;
    handlers.onLost(err);
    if (client) letGo(client);
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
      const handler = Object.hasOwn(handlers.channels, n.channel) ? handlers.channels[n.channel] : undefined;
      if (n.payload) handler?.(n.payload);
    });
    try {
      await c.connect();
      for (const channel of Object.keys(handlers.channels)) await c.query(`listen ${channel}`);
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
      if (c) await letGo(c);
    },
  };
}

/**
 * Ends a client we no longer listen on. A connection the server cut may still emit `error` after
 * this (a LISTEN in flight failing, say): without a listener that would be an uncaught exception
 * that takes the process down, so one that ignores it stays.
 */
function letGo(c: Client) {
  c.removeAllListeners();
  c.on("error", () => {});
  return c.end().catch(() => {});
}
