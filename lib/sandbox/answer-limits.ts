import { MESSAGE_COST_BYTES } from "./output-throttle";

/** As for a local server's stdout (process-transport.ts): no message may be longer. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** An answer that is not a message (an error page, a probe's): read this much at most. */
export const MAX_OTHER_BYTES = 64 * 1024;

export type AnswerKind =
  /** Server-sent events: each event (up to a blank line) holds one message, however many lines. */
  | "events"
  /** One JSON message, the whole body, newlines and all. */
  | "message"
  /** Anything else (an error's body): read for its first words only. */
  | "other";

export type LimitAnswer = (body: ReadableStream<Uint8Array>, kind: AnswerKind) => ReadableStream<Uint8Array>;

/**
 * How Berth reads one sandbox's HTTP answers (on E2B, its bridge's or its server's own): all of
 * them together at most `bytesPerSecond` (a second's worth at once), and no message longer than
 * `maxMessageBytes`. Past the rate the read waits, so TCP holds the server back instead of the
 * event loop every tenant shares, as the local provider's throttle does; a longer message ends
 * its answer with an error instead of growing Berth's memory. The bytes counted are those Berth
 * holds, after any content encoding was undone, and `messageCost` more for each message.
 */
export function answerLimits(
  bytesPerSecond: number,
  maxMessageBytes = MAX_MESSAGE_BYTES,
  messageCost = MESSAGE_COST_BYTES,
): LimitAnswer {
  let tokens = bytesPerSecond;
  let at = performance.now();
  const spend = async (bytes: number) => {
    const now = performance.now();
    tokens = Math.min(bytesPerSecond, tokens + ((now - at) * bytesPerSecond) / 1000);
    at = now;
    tokens -= bytes;
    if (tokens < 0) await new Promise((r) => setTimeout(r, Math.ceil((-tokens * 1000) / bytesPerSecond)));
  };
  return (body, kind) => {
    const max = kind === "other" ? MAX_OTHER_BYTES : maxMessageBytes;
    const events = kind === "events" ? new EventCounter(max) : undefined;
    let held = 0;
    // A JSON answer is one message, paid for with its first bytes; each SSE event as it ends.
    let messages = kind === "message" ? 1 : 0;
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        async transform(chunk, controller) {
          if (events) {
            held = events.count(chunk);
            messages += events.ended;
          } else held += chunk.length;
          if (held > max) {
            const size = max >= 1 << 20 ? `${max >> 20} MiB` : `${Math.ceil(max / 1024)} KiB`;
            controller.error(new Error(`The server sent a message over ${size}.`));
            return;
          }
          await spend(chunk.length + messages * messageCost);
          messages = 0;
          controller.enqueue(chunk);
        },
      }),
    );
  };
}

/**
 * Counts an SSE stream's bytes since its last blank line (the end of an event), whose data lines,
 * however many, the client joins into one message: what it holds at most at once; and the events
 * each chunk ended.
 */
class EventCounter {
  /** Events the last chunk counted ended. */
  ended = 0;
  private event = 0; // bytes of the event under way
  private line = 0; // bytes of the line under way
  private lastByte = 0;

  constructor(private readonly max: number) {}

  count(chunk: Uint8Array): number {
    this.ended = 0;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, nl + 1)) {
      const length = this.line + nl - start;
      const before = nl > 0 ? chunk[nl - 1] : this.lastByte;
      this.event += nl + 1 - start;
      if (this.event > this.max) return this.event;
      if (length === 0 || (length === 1 && before === 13)) {
        this.event = 0;
        this.ended++;
      }
      this.line = 0;
      start = nl + 1;
    }
    this.line += chunk.length - start;
    this.lastByte = chunk[chunk.length - 1] ?? this.lastByte;
    this.event += chunk.length - start;
    return this.event;
  }
}
