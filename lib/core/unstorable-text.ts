/**
 * A surrogate without its pair. JSON can carry one (`"\ud800"`), but no UTF-8 text holds it:
 * PostgreSQL's json refuses it (a 500 until the fuzz found it), and elsewhere it would be stored
 * as U+FFFD, silently not what was sent.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type TextProblem = { path: string; message: string };

const NUL = "Must not contain a NUL character.";
const SURROGATE = "Must be valid Unicode text (it holds a lone surrogate, \\ud800-\\udfff).";

/**
 * Where in a parsed JSON value (keys included) a string holds what Berth can neither store nor run:
 * a NUL (PostgreSQL refuses it; argv and environments end at it) or a lone surrogate.
 */
export function unstorableText(value: unknown): TextProblem[] {
  const found: TextProblem[] = [];
  const check = (s: string, path: string) => {
    if (s.includes("\0")) found.push({ path, message: NUL });
    else if (LONE_SURROGATE.test(s)) found.push({ path, message: SURROGATE });
  };
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length) {
    const [v, at] = stack.pop() as [unknown, string];
    if (typeof v === "string") check(v, at);
    else if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        const path = at ? `${at}.${k}` : k;
        check(k, path);
        stack.push([child, path]);
      }
    }
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
