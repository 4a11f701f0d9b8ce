import { expect } from "vitest";

type Event = { type: string; data: Record<string, unknown> };

const REASONS = [
  "installed",
  "requested",
  "credentials_updated",
  "resumed_by_request",
  "sandbox_lifetime",
  "crash_restart",
  "deploy_abandoned",
  "berth_restarted",
  "adopted",
  "authorized",
  "token_refreshed",
  "woke",
];
const BY = ["api_key", "user", "system"];

/**
 * A connection's timeline (as the events route answers it, newest first) reads the same whoever
 * changed its status — a request, the supervisor, maintenance, Berth starting again: every
 * `deploying` says why and who, a sandbox replaced on purpose is `restarted` just before its
 * `deploying` with the same reason, every `failed` and `crashed` says why, every `expired` when.
 */
export function expectUniformTimeline(newestFirst: Event[]) {
  const events = [...newestFirst].reverse();
  const shown = JSON.stringify(events.map((e) => [e.type, e.data]));
  events.forEach((e, i) => {
    const next = events[i + 1];
    switch (e.type) {
      case "deploying":
        expect(REASONS, `deploying without a known reason: ${shown}`).toContain(e.data.reason);
        expect(BY, `deploying without who: ${shown}`).toContain(e.data.by);
        break;
      case "restarted":
        expect(next?.type, `restarted not followed by deploying: ${shown}`).toBe("deploying");
        expect(next?.data.reason, shown).toBe(e.data.reason);
        expect(next?.data.by, shown).toBe(e.data.by);
        break;
      case "failed":
      case "crashed":
        expect(typeof e.data.error, `${e.type} without its reason: ${shown}`).toBe("string");
        break;
      case "expired":
        expect(Number.isNaN(Date.parse(String(e.data.expires_at))), `expired without when: ${shown}`).toBe(false);
        break;
      case "woke":
        expect(next?.type, `woke not followed by deploying: ${shown}`).toBe("deploying");
        expect(next?.data.reason, shown).toBe("woke");
        break;
      case "slept":
        expect(typeof e.data.idle_seconds, `slept without how long it was idle: ${shown}`).toBe("number");
        break;
      case "running":
        expect(typeof e.data.sandbox_id, shown).toBe("string");
        break;
    }
  });
}
