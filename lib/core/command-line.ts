import { parse } from "shell-quote";

/**
 * Splits a shell-free command line into argv. Quotes are honoured; pipes, redirections,
 * globs and `$VAR` are refused, because nothing here ever runs a shell.
 */
export function splitCommand(line: string): string[] {
  const words = parse(line, (name) => `$${name}`);
  return words.map((w) => {
    if (typeof w !== "string") throw new Error(`"${line}" uses shell syntax; give a plain command line`);
    return w;
  });
}
