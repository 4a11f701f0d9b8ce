/**
 * How deep JSON bodies may nest: deeper input would take JSON.parse, zod and JSON.stringify down a
 * recursion that ends in a stack overflow (a 500 or 502 that says so) for nothing any API needs.
 */
export const MAX_JSON_DEPTH = 512;

/** Whether JSON text nests arrays and objects deeper than `max` (strings skipped). */
export function nestsDeeper(text: string, max: number): boolean {
  if (text.length <= max * 2) return false; // each level takes two characters: the hot path's calls skip the scan
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: skip to its closing quote, past escapes
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
