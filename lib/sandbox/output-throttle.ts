/**
 * What each message costs of a read rate besides its bytes. Berth's work is per message more
 * than per byte (each is parsed, on E2B also decoded and schema-checked by the SDK, and the
 * gateway serializes it again): at 8 MiB/s of 250-byte log notifications, one E2B server kept
 * Berth's event loop at a full core, and on a busy machine another tenant's calls then waited
 * 0.6 s. With this cost such a flood is ~3,600 messages a second (Berth at 0.1-0.3 CPUs, for one
 * server or sixteen); a real server's answers and progress notifications are far fewer.
 */
export const MESSAGE_COST_BYTES = 2048;

/** A readable whose flow Berth can stop and restart: a sandboxed server's stdout or stderr. */
export type Throttleable = Pick<NodeJS.ReadableStream, "on" | "removeListener" | "pause" | "resume">;

/**
 * Caps how fast Berth reads a stream, with a token bucket: `burstBytes` may come at once, then
 * `bytesPerSecond`. Past its budget the stream is paused, so the pipe fills and the server
 * blocks in write(2) (or queues in its own memory, inside its own limits) instead of taking
 * Berth's event loop from every other tenant; it resumes when the bucket has refilled. Nothing
 * runs while the stream stays within budget, and the one timer is unref'd (Berth can exit).
 *
 * Attach it after the stream's reader: adding a "data" listener starts the flow. When a child
 * exits, Node resumes its stdio to drain it: that last pipe-full is read unthrottled.
 * `lineCost` more is counted for each newline: on a stdio server's stdout, each is a message.
 * Returns a disposer that stops counting and lets the stream flow again.
 */
export function throttle(stream: Throttleable, bytesPerSecond: number, burstBytes: number, lineCost = 0): () => void {
  if (!(bytesPerSecond > 0) || !(burstBytes > 0)) throw new RangeError("throttle needs a positive rate and burst");
  let tokens = burstBytes;
  let at = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const refill = () => {
    const now = performance.now();
    tokens = Math.min(burstBytes, tokens + ((now - at) * bytesPerSecond) / 1000);
    at = now;
  };
  // Sleeps until the debt is paid back; chunks already read when it paused add to the debt.
  const wait = () => {
    timer = setTimeout(wake, Math.max(1, Math.ceil((-tokens * 1000) / bytesPerSecond)));
    timer.unref();
  };
  const wake = () => {
    timer = undefined;
    refill();
    if (tokens < 0) return wait();
    stream.resume();
  };
  const onData = (chunk: Buffer | string) => {
    refill();
    tokens -= typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    if (lineCost) tokens -= lineCost * newlines(chunk);
    if (tokens < 0 && !timer) {
      stream.pause();
      wait();
    }
  };

  stream.on("data", onData);
  return () => {
    stream.removeListener("data", onData);
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
      stream.resume();
    }
  };
}

function newlines(chunk: Buffer | string) {
  let n = 0;
  for (let i = chunk.indexOf("\n"); i >= 0; i = chunk.indexOf("\n", i + 1)) n++;
  return n;
}
