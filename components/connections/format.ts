/** "2025-01-31 14:05 UTC" (with seconds if asked): the same on server and client, so hydration never disagrees. */
export function formatUtc(iso: string, seconds = false) {
  return `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)} UTC`;
}
