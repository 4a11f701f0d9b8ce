/**
 * A victim's latency while something else goes on: `fn` repeated for `ms`, one call every 100 ms.
 * p90 rather than the one slowest call is what tests bound: a stall shows in many calls, a busy
 * machine's hiccup in one.
 */
export async function probe(fn: () => Promise<unknown>, ms: number) {
  const lat: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const t = Date.now();
    await fn();
    lat.push(Date.now() - t);
    await new Promise((r) => setTimeout(r, 100));
  }
  lat.sort((x, y) => x - y);
  return { median: lat[lat.length >> 1] ?? 0, p90: lat[Math.floor(lat.length * 0.9)] ?? 0, max: lat.at(-1) ?? 0 };
}
