/** Where in a parsed JSON value (keys included) a string holds a NUL character. */
export function nulPaths(value: unknown): string[] {
  const found: string[] = [];
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length) {
    const [v, at] = stack.pop() as [unknown, string];
    if (typeof v === "string") {
      if (v.includes("\0")) found.push(at);
    } else if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        const path = at ? `${at}.${k}` : k;
        if (k.includes("\0")) found.push(path);
        stack.push([child, path]);
      }
    }
  }
  return found.sort();
}
