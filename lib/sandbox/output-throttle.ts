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
 * Returns a disposer that stops counting and lets the stream flow again.
 */
export function throttle(stream: Throttleable, bytesPerSecond: number, burstBytes: number): () => void {
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
