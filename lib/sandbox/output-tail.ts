/** How much of a server's stderr is kept: several times what is shown, so it is scrubbed before it is cut. */
const KEEP_CHARS = 16 * 1024;

/**
 * The end of a stream's text (a server's stderr), for error messages. Only whole lines are
 * kept: when the start is cut, the cut line goes too, since a secret cut in half could no
 * longer be recognised and scrubbed. Appending costs the chunk, not the buffer.
 */
export class OutputTail {
  private chunks: string[] = [];
  private size = 0;

  push(text: string) {
    this.chunks.push(text);
    this.size += text.length;
    if (this.size > KEEP_CHARS * 2) this.compact();
  }

  text(): string {
    this.compact();
    return (this.chunks[0] ?? "").trim();
  }

  private compact() {
    const all = lastLines(this.chunks.join(""), KEEP_CHARS);
    this.chunks = [all];
    this.size = all.length;
  }
}

/** The last whole lines of `text` within `maxChars`: a line cut in half could hide half a secret. */
export function lastLines(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const end = text.slice(-maxChars);
  const nl = end.indexOf("\n");
  return nl === -1 ? "" : end.slice(nl + 1);
}
