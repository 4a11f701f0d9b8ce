"use client";

import { cn } from "@/lib/cn";

// How the inspector shows what a server answered: MCP content blocks (text, image, audio,
// resource, resource_link), structuredContent, resource contents and prompt messages. Nothing is
// rendered as HTML and no URI becomes a link: a server's answer is untrusted.

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" ? v : undefined);

const BOX = "bg-muted text-foreground max-h-96 min-w-0 max-w-full overflow-auto rounded-md p-3 font-mono text-xs";

/** A tool's result: its content blocks, its structuredContent, marked as an error if it is one. */
export function ToolResultView({ result, testId = "tool-result" }: { result: unknown; testId?: string }) {
  const r = isObject(result) ? result : {};
  const content = Array.isArray(r.content) ? r.content : [];
  const isError = r.isError === true;
  return (
    <section
      aria-label={isError ? "Tool error" : "Tool result"}
      data-testid={testId}
      className={cn("grid min-w-0 grid-cols-1 gap-2", isError && "border-destructive rounded-md border p-3")}
    >
      {isError ? (
        <p role="alert" className="text-destructive text-sm font-medium">
          The tool reported an error.
        </p>
      ) : (
        <p className="text-muted-foreground text-sm">
          Result: {content.length} content {content.length === 1 ? "block" : "blocks"}
        </p>
      )}
      {content.map((block, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: content blocks have no ids and never reorder
        <ContentBlockView key={i} block={block} />
      ))}
      {r.structuredContent !== undefined && (
        <div className="grid min-w-0 grid-cols-1 gap-1">
          <p className="text-muted-foreground text-xs font-medium">Structured content</p>
          <JsonView value={r.structuredContent} />
        </div>
      )}
    </section>
  );
}

/** One MCP content block. */
export function ContentBlockView({ block }: { block: unknown }) {
  if (!isObject(block)) return <JsonView value={block} />;
  switch (block.type) {
    case "text":
      return <TextView text={str(block.text) ?? ""} />;
    case "image":
    case "audio": {
      const mime = str(block.mimeType) ?? (block.type === "image" ? "image/png" : "audio/wav");
      const data = str(block.data) ?? "";
      return <MediaView kind={block.type} mime={mime} data={data} />;
    }
    case "resource":
      return <ResourceContentView contents={block.resource} embedded />;
    case "resource_link":
      return (
        <div className="grid min-w-0 grid-cols-1 gap-1 rounded-md border p-3 text-sm">
          <p className="text-muted-foreground text-xs">Resource link</p>
          {str(block.name) && <p className="font-medium break-words">{str(block.name)}</p>}
          <code className="font-mono text-xs break-all" data-testid="resource-uri">
            {str(block.uri)}
          </code>
          {str(block.mimeType) && <p className="text-muted-foreground text-xs">{str(block.mimeType)}</p>}
          {str(block.description) && <p className="text-muted-foreground text-xs">{str(block.description)}</p>}
        </div>
      );
    default:
      return <JsonView value={block} />;
  }
}

/** One entry of a resource's contents (`{uri, mimeType?, text | blob}`). */
export function ResourceContentView({ contents, embedded = false }: { contents: unknown; embedded?: boolean }) {
  const c = isObject(contents) ? contents : {};
  const mime = str(c.mimeType);
  const blob = str(c.blob);
  return (
    <div className="grid min-w-0 grid-cols-1 gap-1 rounded-md border p-3 text-sm">
      <p className="text-muted-foreground text-xs">
        {embedded ? "Embedded resource" : "Resource"}
        {mime ? ` · ${mime}` : ""}
      </p>
      <code className="font-mono text-xs break-all" data-testid="resource-uri">
        {str(c.uri)}
      </code>
      {str(c.text) !== undefined && <TextView text={str(c.text) ?? ""} />}
      {blob !== undefined &&
        (mime?.startsWith("image/") || mime?.startsWith("audio/") ? (
          <MediaView kind={mime.startsWith("image/") ? "image" : "audio"} mime={mime} data={blob} />
        ) : (
          <p className="text-muted-foreground text-xs">
            Binary, {Math.floor((blob.length * 3) / 4)} bytes (base64: {blob.slice(0, 60)}
            {blob.length > 60 ? "…" : ""})
          </p>
        ))}
    </div>
  );
}

/** A resources/read answer: every entry of its contents. */
export function ResourceReadView({ result }: { result: unknown }) {
  const contents = isObject(result) && Array.isArray(result.contents) ? result.contents : [];
  return (
    <section aria-label="Resource contents" data-testid="resource-result" className="grid min-w-0 grid-cols-1 gap-2">
      {contents.length === 0 && <p className="text-muted-foreground text-sm">The resource is empty.</p>}
      {contents.map((c, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: contents have no ids and never reorder
        <ResourceContentView key={i} contents={c} />
      ))}
    </section>
  );
}

/** A prompts/get answer: its description and messages, each with its role. */
export function PromptMessagesView({ result }: { result: unknown }) {
  const r = isObject(result) ? result : {};
  const messages = Array.isArray(r.messages) ? r.messages : [];
  return (
    <section aria-label="Prompt messages" data-testid="prompt-result" className="grid min-w-0 grid-cols-1 gap-2">
      {str(r.description) && <p className="text-muted-foreground text-sm">{str(r.description)}</p>}
      <ol className="grid min-w-0 grid-cols-1 gap-2">
        {messages.map((m, i) => {
          const msg = isObject(m) ? m : {};
          const blocks = Array.isArray(msg.content) ? msg.content : [msg.content];
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: messages have no ids and never reorder
            <li key={i} className="grid min-w-0 grid-cols-1 gap-1">
              <p className="text-xs font-medium uppercase tracking-wide">{str(msg.role) ?? "message"}</p>
              {blocks.map((b, j) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: as above
                <ContentBlockView key={j} block={b} />
              ))}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/** Text as it is (wrapped), or pretty and collapsible if it is a JSON object or array. */
function TextView({ text }: { text: string }) {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return <JsonView value={JSON.parse(trimmed)} />;
    } catch {
      // not JSON after all: shown as text
    }
  }
  return <pre className={cn(BOX, "break-words whitespace-pre-wrap")}>{text}</pre>;
}

function MediaView({ kind, mime, data }: { kind: "image" | "audio"; mime: string; data: string }) {
  // Only base64 of a media type goes into the data: URL (a mimeType could carry anything).
  const safeMime = /^[\w.+-]+\/[\w.+-]+$/.test(mime) ? mime : "application/octet-stream";
  const src = `data:${safeMime};base64,${data.replace(/[^A-Za-z0-9+/=]/g, "")}`;
  return kind === "image" ? (
    // biome-ignore lint/performance/noImgElement: a data: URL from the server's answer, not an asset to optimize
    <img src={src} alt={`Returned by the server (${safeMime})`} className="max-h-64 max-w-full rounded border" />
  ) : (
    // biome-ignore lint/a11y/useMediaCaption: the server's audio comes without captions
    <audio controls src={src} aria-label={`Audio returned by the server (${safeMime})`} className="max-w-full" />
  );
}

/** Any JSON value, objects and arrays collapsible (<details>, open two levels deep). */
export function JsonView({ value }: { value: unknown }) {
  return (
    <div className={BOX} data-testid="json-view">
      <JsonNode value={value} depth={0} />
    </div>
  );
}

const MAX_ENTRIES = 500;

function JsonNode({ name, value, depth }: { name?: string; value: unknown; depth: number }) {
  const label = name !== undefined && <span className="font-semibold">{name}: </span>;
  if (Array.isArray(value) || isObject(value)) {
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [String(i), v])
      : Object.entries(value);
    const open = Array.isArray(value) ? "[" : "{";
    const close = Array.isArray(value) ? "]" : "}";
    if (!entries.length)
      return (
        <div>
          {label}
          {open}
          {close}
        </div>
      );
    const count = Array.isArray(value)
      ? `${entries.length} ${entries.length === 1 ? "item" : "items"}`
      : `${entries.length} ${entries.length === 1 ? "key" : "keys"}`;
    return (
      <details open={depth < 2}>
        <summary className="cursor-pointer select-none">
          {label}
          {open} <span className="italic">{count}</span> {close}
        </summary>
        <ul className="border-border ml-1 border-l pl-3">
          {entries.slice(0, MAX_ENTRIES).map(([k, v]) => (
            <li key={k}>
              <JsonNode name={k} value={v} depth={depth + 1} />
            </li>
          ))}
          {entries.length > MAX_ENTRIES && <li className="italic">… {entries.length - MAX_ENTRIES} more</li>}
        </ul>
      </details>
    );
  }
  return (
    <div className="break-all whitespace-pre-wrap">
      {label}
      {JSON.stringify(value) ?? String(value)}
    </div>
  );
}
