import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";

/**
 * Events kept per session so a client that lost a stream can resume it (Last-Event-ID): the
 * latest 500, and no more than 1 MiB of them (counted in characters of their SSE text), since
 * a server decides how large its messages are and an account may have hundreds of sessions.
 */
const REPLAY_EVENTS = 500;
const REPLAY_CHARS = 1024 * 1024;

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/**
 * The answer to one POST that carried requests. It stays undecided until the first message
 * for it arrives: a lone response goes out as plain JSON (the fast path), anything else first
 * (progress, a sampling request…) turns it into an SSE stream that ends with the last response.
 */
class PostStream {
  private sse = false;
  private readonly responses: JSONRPCMessage[] = [];
  closed = false;

  constructor(
    readonly res: ServerResponse,
    private readonly pending: Set<RequestId>,
    private readonly batch: boolean,
    private readonly headers: Record<string, string>,
  ) {}

  /** How the message went out: as the JSON answer, as an SSE event, or not at all (client gone). */
  write(message: JSONRPCMessage, eventId: number, isResponse: boolean): "json" | "sse" | false {
    if (this.closed) return false;
    if (isResponse) this.pending.delete((message as { id: RequestId }).id);
    const done = this.pending.size === 0;
    if (!this.sse && isResponse) {
      this.responses.push(message);
      if (!done) return "json";
      const body = this.batch ? this.responses : this.responses[0];
      this.res.writeHead(200, { ...this.headers, "content-type": "application/json" }).end(JSON.stringify(body));
      this.closed = true;
      return "json";
    }
    if (!this.sse) {
      this.sse = true;
      this.res.writeHead(200, { ...SSE_HEADERS, ...this.headers });
      for (const r of this.responses) this.res.write(sseEvent(r));
    }
    this.res.write(sseEvent(message, eventId));
    if (done) {
      this.res.end();
      this.closed = true;
    }
    return "sse";
  }
}

const sseEvent = (message: JSONRPCMessage, id?: number) =>
  `event: message\n${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(message)}\n\n`;

/**
 * One client's MCP session over Streamable HTTP, written for node:http: it routes what the
 * server sends to the POST that asked for it, else to the client's GET stream, and keeps recent
 * SSE events for resumption. The SDK's transport does the same through web Request/Response
 * objects and per-message schema validation, which measured at ~0.4 ms of CPU per call here;
 * this relay only needs to route messages.
 */
export class ClientSession {
  readonly id = randomUUID();
  private readonly byRequest = new Map<RequestId, PostStream>();
  private standalone: ServerResponse | undefined;
  /** Recent SSE events and the stream each went to (undefined: none was open). */
  private readonly replay: { id: number; stream: object | undefined; data: string }[] = [];
  private replayChars = 0;
  private nextEvent = 1;
  /** When the client last sent anything (performance.now()). */
  lastSeen = performance.now();
  closed = false;
  onclose?: () => void;

  constructor(
    readonly accountId: string,
    readonly connectionId: string,
  ) {}

  /** Registers the POST that carries these requests as where their answers go. */
  openPost(res: ServerResponse, requestIds: RequestId[], batch: boolean) {
    const stream = new PostStream(res, new Set(requestIds), batch, { "mcp-session-id": this.id });
    for (const id of requestIds) this.byRequest.set(id, stream);
    res.once("close", () => {
      stream.closed = true;
    });
  }

  /**
   * The client's GET stream for messages that belong to no request. With Last-Event-ID it first
   * replays what followed that event on the stream it was on, and what found no stream at all.
   */
  openStandalone(res: ServerResponse, lastEventId: number | undefined) {
    if (this.standalone && !this.standalone.writableEnded) this.standalone.end();
    res.writeHead(200, { ...SSE_HEADERS, "mcp-session-id": this.id }).flushHeaders(); // open now, not at the first event
    if (lastEventId !== undefined) {
      const from = this.replay.find((e) => e.id === lastEventId)?.stream;
      for (const e of this.replay) {
        if (e.id > lastEventId && (e.stream === undefined || e.stream === from)) res.write(e.data);
      }
    }
    this.standalone = res;
    res.once("close", () => {
      if (this.standalone === res) this.standalone = undefined;
    });
  }

  /** A message from the server for this client; `related` is the client's request it belongs to. */
  deliver(message: JSONRPCMessage, related?: RequestId) {
    if (this.closed) return;
    const isResponse = "id" in message && !("method" in message);
    const key = isResponse ? (message as { id: RequestId }).id : related;
    const post = key === undefined ? undefined : this.byRequest.get(key);
    if (isResponse && key !== undefined) this.byRequest.delete(key);
    const id = this.nextEvent++;
    const how = post?.write(message, id, isResponse);
    if (how === "json") return;
    if (how === "sse") return this.remember(id, post, message);
    const standalone = this.standalone;
    standalone?.write(sseEvent(message, id));
    this.remember(id, standalone, message);
  }

  /** Whether the client is still attached: a request in flight or its GET stream open. */
  get attached() {
    return this.byRequest.size > 0 || this.standalone !== undefined;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const stream of new Set(this.byRequest.values())) if (!stream.closed) stream.res.end();
    this.byRequest.clear();
    this.standalone?.end();
    this.onclose?.();
  }

  private remember(id: number, stream: object | undefined, message: JSONRPCMessage) {
    const data = sseEvent(message, id);
    this.replay.push({ id, stream, data });
    this.replayChars += data.length;
    while (this.replay.length > REPLAY_EVENTS || this.replayChars > REPLAY_CHARS) {
      this.replayChars -= (this.replay.shift() as { data: string }).data.length;
    }
  }
}
