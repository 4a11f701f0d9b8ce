import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  type ClientCapabilities,
  type InitializeResult,
  type JSONRPCMessage,
  type JSONRPCRequest,
  LATEST_PROTOCOL_VERSION,
  type ListToolsResult,
  type LoggingLevel,
  type RequestId,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { ToolPolicy } from "@/lib/core/schemas/tool-policy";
import { policyKey, type ToolView, viewTools } from "@/lib/core/tool-view";
import type { ToolCallRecord } from "@/lib/db/queries/tool-calls";

/** One client session of the gateway, as the upstream sees it. */
export type Peer = {
  /** Delivers a message to the client; `relatedRequestId` is the client's own request id it belongs to. */
  deliver(message: JSONRPCMessage, relatedRequestId?: RequestId): void;
  /**
   * Which of the capabilities a server may ask of it the client declared in its `initialize`
   * (set when it initializes): only these flags, never the client's object, which is
   * the client's to make as large as it likes.
   */
  capabilities?: DeclaredCapabilities;
  /** The resource URIs it subscribed to; kept on the client so a restarted server gets them again. */
  subscriptions?: Set<string>;
  /** The least severe log messages it wants (logging/setLevel); all of them until it says. */
  logLevel?: LoggingLevel;
  /** The protocol version negotiated with this client in its `initialize` (its own, when Berth speaks it). */
  protocolVersion?: string;
  /** The name the client gave in its `initialize` (clientInfo), shown to whoever approves its calls. */
  clientName?: string;
  /**
   * Takes back a request that provably never reached the server (its sandbox was gone), to send
   * it to the connection's next server; without it such a request is answered with an error.
   */
  retry?(message: JSONRPCRequest): void;
};

/**
 * MCP's version negotiation, per client: the version the client asked for when Berth speaks it,
 * else Berth's latest (the client then decides whether it can go on).
 */
export function negotiateVersion(requested: unknown): string {
  return typeof requested === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
    ? requested
    : LATEST_PROTOCOL_VERSION;
}

/**
 * Why a request's `MCP-Protocol-Version` cannot be served on a session that negotiated
 * `negotiated`, if it cannot. The spec refuses a version the server does not speak. A later one
 * than the session's is refused too: its messages are not what the session agreed to. An earlier
 * one (raw clients hard-code 2025-03-26; the conformance suite does) and none at all are taken, as
 * the spec and the SDK's own servers take them.
 */
export function versionHeaderProblem(header: string | string[] | undefined, negotiated: string | undefined) {
  if (header === undefined) return undefined;
  if (typeof header !== "string" || !SUPPORTED_PROTOCOL_VERSIONS.includes(header))
    return `Unsupported MCP-Protocol-Version ${String(header).slice(0, 40)}.`;
  if (negotiated && header > negotiated) return `This session negotiated MCP ${negotiated}; it cannot speak ${header}.`;
  return undefined;
}

const LOG_LEVELS: string[] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
const rank = (level: string) => {
  const i = LOG_LEVELS.indexOf(level);
  return i === -1 ? 0 : i;
};

type AskedCapability = "sampling" | "elicitation" | "roots";
export type DeclaredCapabilities = Partial<Record<AskedCapability, true>>;

/** The client capability a server→client request needs (MCP: a server asks only for what the client declared). */
const CAPABILITY_FOR: Record<string, AskedCapability> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

/** The flags of `declared` (a client's `initialize` capabilities) that CAPABILITY_FOR looks at. */
function declaredCapabilities(declared: unknown): DeclaredCapabilities {
  const kept: DeclaredCapabilities = {};
  if (typeof declared !== "object" || declared === null) return kept;
  for (const name of Object.values(CAPABILITY_FOR)) {
    if ((declared as ClientCapabilities)[name]) kept[name] = true;
  }
  return kept;
}

/** A tools/call in flight, for the audit log. */
type ToolCallTiming = { tool: string; started: number; requestBytes: number };

export type ApprovalOutcome = "approved" | "rejected" | "expired" | "cancelled";

export type ApprovalAsk = {
  /** The server's name for the tool, and the one the client called. */
  tool: string;
  calledAs: string;
  arguments: unknown;
  /** The client's own name for itself (its initialize's clientInfo), if it gave one. */
  client: string;
  timeoutSeconds: number;
};

export type ToolCallObservation = Omit<ToolCallRecord, "accountId" | "connectionId">;

type Pending = (
  | {
      kind: "peer";
      peer: Peer;
      id: RequestId;
      progressToken?: string;
      subscribing?: string;
      /** The client's request as it sent it, while the transport has not yet taken it. */
      sending?: JSONRPCRequest;
    }
  | { kind: "own"; resolve: (result: unknown) => void; reject: (err: Error) => void }
) & { toolCall?: ToolCallTiming };

const CLIENT_INFO = { name: "berth", version: "0.1.0" };
const JSONRPC_SERVER_GONE = -32000;
const SANDBOX_GONE = "The MCP server's sandbox is gone.";
/** How long a server that ended leaves requests being sent to learn whether they reached it. */
const SEND_GRACE_MS = 5000;
/** Pages of tools/list Berth reads to know a server's tools (a server's pages are its own to size). */
const MAX_TOOL_PAGES = 50;
/**
 * Calls of one connection that may wait for approval at once: each is a row and a waiter, and a
 * client could otherwise send thousands (batches of 100) on the event loop every tenant shares.
 */
const MAX_WAITING_APPROVALS = 20;
/** How often a call waiting for approval tells its client it still waits (if it asked for progress). */
const APPROVAL_PROGRESS_MS = 10_000;
/** The JSON-RPC error MCP gives a call of a tool the server does not have. */
const UNKNOWN_TOOL = -32602;

/**
 * Berth's single MCP session with one connection's server, shared by every client session
 * of that connection. Request ids and progress tokens are rewritten on the way up and
 * restored on the way down, so clients never see each other's traffic; the server's own
 * requests (sampling, elicitation, roots) go to the client that spoke to it last.
 */
export class UpstreamSession {
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly progress = new Map<string, { peer: Peer; token: string | number; requestId: RequestId }>();
  /** Server→client requests in flight: our id towards the peer → the server's id. */
  private readonly serverRequests = new Map<string, { peer: Peer; upstreamId: RequestId }>();
  private readonly peers = new Set<Peer>();
  /** Resource URI → its subscribed clients; the server holds one subscription while any remain. */
  private readonly subscribers = new Map<string, Set<Peer>>();
  private lastActive: Peer | undefined;
  /** The level the server was last set to log at, if a client set one. */
  private logLevel: string | undefined;
  private closed = false;
  private closedBecause = "The MCP server is not running.";
  /** Clients' requests the transport has not yet taken: whether each reached the server is not yet known. */
  private readonly sends = new Set<Promise<void>>();
  /** Which of the server's tools clients see (tool-view.ts); none: all of them, untouched, at no cost. */
  private toolPolicy: ToolPolicy | undefined;
  /** The server's whole tool list, read while a policy is set, until the server says it changed. */
  private serverTools: Promise<Tool[]> | undefined;
  private view: { tools: Tool[]; policy: ToolPolicy; result: ToolView } | undefined;
  /**
   * While draining (a planned restart): clients' new requests, held here unsent, for the next
   * server; null when not draining.
   */
  private held: { peer: Peer; message: JSONRPCRequest }[] | null = null;
  /** Clients' calls waiting for an approval, by client and its request id: its cancellation or leaving withdraws them. */
  private readonly awaiting = new Map<Peer, Map<RequestId, AbortController>>();
  initializeResult: InitializeResult | undefined;
  onclose?: () => void;
  /**
   * Puts a call of a tool under `approval` to the account's admins and resolves with their
   * decision (`expired` if none came in time). Without it such calls are refused.
   */
  onApproval?: (call: ApprovalAsk, signal: AbortSignal) => Promise<ApprovalOutcome>;
  /** Called once per answered tools/call, with sizes and timing only. */
  onToolCall?: (call: ToolCallObservation) => void;

  constructor(private readonly transport: Transport) {}

  /** Starts the transport and performs MCP `initialize`; resolves once the server answered. */
  async connect(): Promise<InitializeResult> {
    this.transport.onmessage = (m) => this.fromServer(m);
    this.transport.onclose = () => this.shutdown("The MCP server exited.");
    this.transport.onerror = () => {};
    await this.transport.start();
    const result = (await this.request("initialize", {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
      clientInfo: CLIENT_INFO,
    })) as InitializeResult;
    await this.transport.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    this.initializeResult = result;
    return result;
  }

  /** A request of Berth's own (tools/list for a dry run, the inspector). */
  request(method: string, params?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error("The MCP server is not running."));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { kind: "own", resolve, reject, toolCall: timeToolCall(method, params) });
      this.transport.send({ jsonrpc: "2.0", id, method, params }).catch((err) => {
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  /**
   * A request of Berth's own made as a client would (the inspector): under the tool policy; a
   * call that needs approval is made only when `approved` (the caller may decide it itself).
   */
  async requestAsClient(method: string, params: Record<string, unknown>, { approved = false } = {}): Promise<unknown> {
    const view = method === "tools/list" || method === "tools/call" ? await this.toolView() : undefined;
    if (!view) return this.request(method, params);
    if (method === "tools/list") return { tools: view.tools };
    const serverName = view.serverName.get(toolName(params.name));
    if (!serverName) throw new McpRequestError(unknownTool(params.name), UNKNOWN_TOOL);
    // Not waited for here: a caller that gave up (the inspector's timeout) would leave an approval
    // that, granted later, made the call with nobody to answer.
    if (!approved && view.approval.has(serverName)) {
      const text = `Calls of ${toolName(params.name)} need an admin's approval: make them through the MCP endpoint, or as an owner or admin in the dashboard.`;
      return { content: [{ type: "text", text }], isError: true };
    }
    return this.request(method, { ...params, name: serverName });
  }

  /**
   * Waits for the decision on a call of a tool under `approval`: undefined to go on, else the
   * error result the client gets instead (a tool error, which agents read and act on).
   */
  private async approval(peer: Peer, view: ToolView, serverName: string, message: JSONRPCRequest) {
    if (!view.approval.has(serverName)) return undefined;
    const { params } = message;
    const calledAs = toolName(params?.name);
    if (this.waitingCount() >= MAX_WAITING_APPROVALS)
      return refusal(
        `${calledAs} cannot wait for approval now: ${MAX_WAITING_APPROVALS} calls of this connection already do`,
      );
    const timeoutSeconds = this.toolPolicy?.approval_timeout_seconds ?? 55;
    const client = peer.clientName ?? "an MCP client";
    const ask = { tool: serverName, calledAs, arguments: params?.arguments, client, timeoutSeconds };
    const withdrawn = new AbortController();
    const mine = this.awaiting.get(peer) ?? new Map<RequestId, AbortController>();
    mine.set(message.id, withdrawn);
    this.awaiting.set(peer, mine);
    const stopProgress = this.reportWaiting(peer, message);
    const outcome = await (this.onApproval
      ? this.onApproval(ask, withdrawn.signal).catch((err: Error) => `could not be put to an admin (${err.message})`)
      : Promise.resolve("cannot be approved here")
    ).finally(() => {
      stopProgress();
      mine.delete(message.id);
      if (!mine.size && this.awaiting.get(peer) === mine) this.awaiting.delete(peer);
    });
    if (withdrawn.signal.aborted) return "withdrawn" as const; // cancelled or gone: nobody to answer
    if (outcome === "approved") return undefined;
    const why =
      outcome === "rejected"
        ? "was rejected by an admin of the account"
        : outcome === "expired"
          ? `was not approved within ${timeoutSeconds} s`
          : outcome;
    return refusal(`This call of ${calledAs} ${why}`);
  }

  private waitingCount() {
    let n = 0;
    for (const calls of this.awaiting.values()) n += calls.size;
    return n;
  }

  /**
   * While a call waits for approval, tells its client every 10 s (when it asked for progress), so a
   * client that resets its timeout on progress keeps waiting; returns how to stop.
   */
  private reportWaiting(peer: Peer, message: JSONRPCRequest) {
    const token = (message.params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
    if (token === undefined) return () => {};
    let progress = 0;
    const timer = setInterval(() => {
      progress += 1;
      const params = { progressToken: token, progress, message: "Waiting for an admin's approval" };
      peer.deliver({ jsonrpc: "2.0", method: "notifications/progress", params }, message.id);
    }, APPROVAL_PROGRESS_MS);
    return () => clearInterval(timer);
  }

  get isOpen() {
    return !this.closed;
  }

  /** Whether a client's request is in flight to the server. */
  get busy() {
    for (const p of this.pending.values()) if (p.kind === "peer") return true;
    return false;
  }

  /**
   * Sets which tools clients see; clients are told their list changed (they ask again). Berth
   * declares `tools.listChanged` to every client for this (answerInitialize).
   */
  setToolPolicy(policy: ToolPolicy | undefined) {
    if (policyKey(policy) === policyKey(this.toolPolicy)) return;
    this.toolPolicy = policy;
    if (!policy) this.serverTools = undefined;
    for (const peer of this.peers) peer.deliver({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
  }

  /** The server's tools as it lists them, all pages (read once until it says they changed). */
  serverToolList(): Promise<Tool[]> {
    if (!this.serverTools) {
      const read = this.readServerTools();
      this.serverTools = read;
      read.catch(() => {
        if (this.serverTools === read) this.serverTools = undefined; // the next ask tries again
      });
    }
    return this.serverTools;
  }

  /** The tools under the policy, or undefined when there is none. */
  async toolView(): Promise<ToolView | undefined> {
    if (!this.toolPolicy) return undefined;
    const tools = await this.serverToolList();
    const policy = this.toolPolicy; // the latest, should it have changed while the list was read
    if (!policy) return undefined;
    if (this.view?.tools !== tools || this.view.policy !== policy)
      this.view = { tools, policy, result: viewTools(tools, policy) };
    return this.view.result;
  }

  private async readServerTools() {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const result = (await this.request("tools/list", cursor ? { cursor } : undefined)) as ListToolsResult;
      tools.push(...(result.tools ?? []));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return tools;
  }

  /** Adds a client session, renewing on this server what it had asked of an earlier one. */
  attach(peer: Peer) {
    this.peers.add(peer);
    for (const uri of peer.subscriptions ?? []) {
      if (this.subscribe(peer, uri)) this.request("resources/subscribe", { uri }).catch(() => {});
    }
    if (peer.logLevel && rank(peer.logLevel) < rank(this.logLevel ?? "emergency")) {
      this.logLevel = peer.logLevel;
      this.request("logging/setLevel", { level: peer.logLevel }).catch(() => {});
    }
  }

  /** Forgets a client session and cancels what it still had in flight. */
  detach(peer: Peer) {
    this.peers.delete(peer);
    for (const waiting of this.awaiting.get(peer)?.values() ?? []) waiting.abort();
    if (this.lastActive === peer) this.lastActive = undefined;
    for (const uri of peer.subscriptions ?? []) {
      if (this.unsubscribe(peer, uri)) this.request("resources/unsubscribe", { uri }).catch(() => {});
    }
    for (const [id, p] of this.pending) {
      if (p.kind === "peer" && p.peer === peer) {
        this.pending.delete(id);
        if (p.progressToken) this.progress.delete(p.progressToken);
        this.send({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: id, reason: "client left" },
        });
      }
    }
  }

  /** A message from a client session. */
  fromPeer(peer: Peer, message: JSONRPCMessage) {
    this.lastActive = peer;
    if ("method" in message && "id" in message) {
      if (message.method === "initialize") {
        peer.capabilities = declaredCapabilities(message.params?.capabilities);
        peer.protocolVersion = negotiateVersion(message.params?.protocolVersion);
        const info = message.params?.clientInfo as { name?: unknown } | undefined;
        peer.clientName = typeof info?.name === "string" ? printable(info.name).slice(0, 100) : undefined;
        return this.answerInitialize(peer, message.id);
      }
      if (this.closed) return peer.deliver(goneError(message.id), message.id);
      if (this.held && peer.retry) return void this.held.push({ peer, message });
      if (this.toolPolicy && (message.method === "tools/list" || message.method === "tools/call"))
        return void this.throughPolicy(peer, message);
      const request = this.intercept(peer, message);
      if (!request) return peer.deliver({ jsonrpc: "2.0", id: message.id, result: {} }, message.id);
      return this.forwardRequest(peer, message, request);
    }
    if ("method" in message) {
      if (message.method === "notifications/initialized") return;
      if (message.method === "notifications/cancelled") {
        const awaiting = this.awaiting.get(peer)?.get(message.params?.requestId as RequestId);
        if (awaiting) return awaiting.abort(); // never sent: withdrawn from its approval instead
        const upstreamId = this.upstreamIdOf(peer, message.params?.requestId as RequestId);
        if (upstreamId === undefined) return;
        return this.send({ ...message, params: { ...message.params, requestId: upstreamId } });
      }
      return this.send(message);
    }
    if ("id" in message) {
      const key = String(message.id);
      const req = this.serverRequests.get(key);
      if (!req || req.peer !== peer) return;
      this.serverRequests.delete(key);
      return this.send({ ...message, id: req.upstreamId });
    }
  }

  /**
   * tools/list and tools/call under the policy: the list is Berth's view of the server's, and a
   * call goes to the server under the tool's own name, or, for a tool not offered, is answered
   * as MCP answers a call of an unknown tool.
   */
  private async throughPolicy(peer: Peer, message: JSONRPCRequest) {
    try {
      await this.applyPolicy(peer, message);
    } catch (err) {
      // Whatever went wrong, the request is answered: a client must never wait on a lost request.
      const error = { code: -32603, message: `Berth could not apply the tool policy: ${(err as Error).message}` };
      peer.deliver({ jsonrpc: "2.0", id: message.id, error }, message.id);
    }
  }

  private async applyPolicy(peer: Peer, message: JSONRPCRequest) {
    let view: ToolView | undefined;
    try {
      view = await this.toolView();
    } catch (err) {
      const error = {
        code: JSONRPC_SERVER_GONE,
        message: `The MCP server did not list its tools: ${(err as Error).message}`,
      };
      return peer.deliver({ jsonrpc: "2.0", id: message.id, error }, message.id);
    }
    if (!view) return this.forwardRequest(peer, message, message); // the policy was lifted meanwhile
    if (message.method === "tools/list")
      return peer.deliver({ jsonrpc: "2.0", id: message.id, result: { tools: view.tools } }, message.id);
    const calledAs = toolName(message.params?.name);
    const unknown = { code: UNKNOWN_TOOL, message: unknownTool(message.params?.name) };
    const serverName = view.serverName.get(calledAs);
    if (!serverName) return peer.deliver({ jsonrpc: "2.0", id: message.id, error: unknown }, message.id);
    const refused = await this.approval(peer, view, serverName, message);
    if (refused === "withdrawn") return;
    if (refused) return peer.deliver({ jsonrpc: "2.0", id: message.id, result: refused }, message.id);
    if (view.approval.has(serverName)) {
      // The policy may have changed while the call waited: it goes on only if still offered, as then.
      const now = await this.toolView();
      if (now && now.serverName.get(calledAs) !== serverName)
        return peer.deliver({ jsonrpc: "2.0", id: message.id, error: unknown }, message.id);
    }
    this.forwardRequest(peer, message, { ...message, params: { ...message.params, name: serverName } });
  }

  /** Sends a client's request on under an id of Berth's; `original` is kept to retry on the next server. */
  private forwardRequest(peer: Peer, original: JSONRPCRequest, request: JSONRPCRequest) {
    if (this.closed) return peer.deliver(goneError(original.id), original.id);
    const id = this.nextId++;
    const params = request.params ? { ...request.params } : undefined;
    let progressToken: string | undefined;
    const meta = params?._meta as { progressToken?: string | number } | undefined;
    if (meta?.progressToken !== undefined) {
      progressToken = `p${id}`;
      this.progress.set(progressToken, { peer, token: meta.progressToken, requestId: original.id });
      (params as Record<string, unknown>)._meta = { ...meta, progressToken };
    }
    const entry: Pending = {
      kind: "peer",
      peer,
      id: original.id,
      progressToken,
      subscribing: request.method === "resources/subscribe" ? (request.params?.uri as string) : undefined,
      toolCall: timeToolCall(request.method, params),
      sending: original,
    };
    this.pending.set(id, entry);
    return this.sendRequest(id, entry, { ...request, id, params });
  }

  async close() {
    const held = this.held ?? [];
    this.held = null;
    this.shutdown("The MCP server was stopped.");
    await this.transport.close().catch(() => {});
    // Never sent to this server: they go to the next one.
    for (const { peer, message } of held) peer.retry?.(message);
  }

  /**
   * Before a planned restart (a refreshed upstream token): clients' new requests
   * are held for the next server, and those in flight are given up to `ms` to be answered, so
   * that agents do not see the restart. Settles when none is in flight, or at `ms`; `close` then
   * fails what is still in flight and hands the held requests on.
   */
  async drain(ms: number) {
    if (this.closed) return;
    this.held ??= [];
    const deadline = Date.now() + ms;
    while (this.busy && !this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * The server is gone (its sandbox ended): fails what is in flight with `reason`, but lets the
   * requests still being sent learn first, for up to `graceMs`, whether they reached it. Closing
   * the transport at once would abort them unknown (and fail them); a sandbox that is gone says
   * so to a request that never reached it, which then goes to the connection's next server.
   */
  async end(reason: string, graceMs = SEND_GRACE_MS) {
    this.shutdown(reason);
    if (this.sends.size) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((r) => {
        timer = setTimeout(r, graceMs);
      });
      await Promise.race([Promise.allSettled([...this.sends]), grace]);
      clearTimeout(timer);
    }
    await this.transport.close().catch(() => {});
  }

  /**
   * The server's own answer to Berth's initialize, in the version negotiated with this client:
   * Berth's session with the server is one for all its clients; each client speaks its own version
   * with Berth (later versions add fields and methods, which older clients do not look at).
   */
  private answerInitialize(peer: Peer, id: RequestId) {
    const result = { ...this.initializeResult, protocolVersion: peer.protocolVersion } as Record<string, unknown>;
    // A tool policy can change the list at any time, and clients are told (setToolPolicy).
    const capabilities = this.initializeResult?.capabilities;
    if (capabilities?.tools)
      result.capabilities = { ...capabilities, tools: { ...capabilities.tools, listChanged: true } };
    peer.deliver({ jsonrpc: "2.0", id, result }, id);
  }

  private latestRequestOf(peer: Peer): RequestId | undefined {
    let latest: RequestId | undefined;
    for (const p of this.pending.values()) if (p.kind === "peer" && p.peer === peer) latest = p.id;
    return latest;
  }

  private upstreamIdOf(peer: Peer, clientId: RequestId): RequestId | undefined {
    for (const [id, p] of this.pending) if (p.kind === "peer" && p.peer === peer && p.id === clientId) return id;
    return undefined;
  }

  private fromServer(message: JSONRPCMessage) {
    if ("id" in message && !("method" in message)) {
      const p = this.pending.get(message.id as RequestId);
      if (!p) return;
      this.pending.delete(message.id as RequestId);
      if (p.toolCall) this.observeToolCall(p.toolCall, message, measuredBytes(this.transport));
      if (p.kind === "own") {
        if ("error" in message) p.reject(new McpRequestError(message.error.message, message.error.code));
        else p.resolve(message.result);
        return;
      }
      if (p.progressToken) this.progress.delete(p.progressToken);
      if (p.subscribing && "error" in message) {
        p.peer.subscriptions?.delete(p.subscribing);
        this.unsubscribe(p.peer, p.subscribing);
      }
      return p.peer.deliver({ ...message, id: p.id }, p.id);
    }
    if ("method" in message && "id" in message) {
      const peer = this.lastActive ?? [...this.peers].at(-1);
      const needs = CAPABILITY_FOR[message.method];
      if (!peer || (needs && peer.capabilities && !peer.capabilities[needs])) {
        // Berth declared every capability upstream on behalf of all its clients; one that did
        // not declare this one is not asked, and the server hears so at once.
        const reason = peer
          ? `The client does not support ${needs}.`
          : "No client is connected to answer this request.";
        return this.send({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: reason } });
      }
      const id = `s${this.nextId++}`;
      this.serverRequests.set(id, { peer, upstreamId: message.id });
      // On the stream of that client's latest request in flight (the tool call that asked), if any.
      return peer.deliver({ ...message, id }, this.latestRequestOf(peer));
    }
    if ("method" in message) {
      if (message.method === "notifications/progress") {
        const p = this.progress.get(String(message.params?.progressToken));
        if (!p) return;
        return p.peer.deliver(
          { ...message, params: { ...message.params, progressToken: p.token } } as JSONRPCMessage,
          p.requestId,
        );
      }
      if (message.method === "notifications/cancelled") {
        // The server withdraws one of its own requests to a client.
        for (const [id, r] of this.serverRequests) {
          if (r.upstreamId !== message.params?.requestId) continue;
          this.serverRequests.delete(id);
          return r.peer.deliver({ ...message, params: { ...message.params, requestId: id } });
        }
        return;
      }
      if (message.method === "notifications/message") {
        const level = rank(String(message.params?.level));
        for (const peer of this.peers) if (level >= rank(peer.logLevel ?? "debug")) peer.deliver(message);
        return;
      }
      if (message.method === "notifications/tools/list_changed") this.serverTools = undefined;
      if (message.method === "notifications/resources/updated") {
        for (const peer of this.subscribers.get(String(message.params?.uri)) ?? []) peer.deliver(message);
        return;
      }
      for (const peer of this.peers) peer.deliver(message);
    }
  }

  /**
   * Keeps per-client state the server holds once for all of them, and returns the request to
   * send on (as is, or rewritten), or undefined when the server's state would not change and
   * Berth answers it itself:
   * - resources/subscribe and /unsubscribe: only the first subscriber of a URI and the last to
   *   leave it reach the server;
   * - logging/setLevel: the server logs at the most verbose level any client asked for, and
   *   each client gets only what its own level lets through.
   */
  private intercept(peer: Peer, message: JSONRPCRequest): JSONRPCRequest | undefined {
    const uri = message.params?.uri;
    if (message.method === "resources/subscribe" && typeof uri === "string") {
      peer.subscriptions ??= new Set();
      peer.subscriptions.add(uri);
      return this.subscribe(peer, uri) ? message : undefined;
    }
    if (message.method === "resources/unsubscribe" && typeof uri === "string") {
      peer.subscriptions?.delete(uri);
      return this.unsubscribe(peer, uri) ? message : undefined;
    }
    const level = message.params?.level;
    if (message.method === "logging/setLevel" && typeof level === "string" && LOG_LEVELS.includes(level)) {
      peer.logLevel = level as LoggingLevel;
      const wanted = LOG_LEVELS[Math.min(...[...this.peers, peer].map((p) => rank(p.logLevel ?? "emergency")))];
      if (wanted === this.logLevel) return undefined;
      this.logLevel = wanted;
      return { ...message, params: { ...message.params, level: wanted } };
    }
    return message;
  }

  /** Adds a subscriber; true if the server is not yet subscribed to `uri` and must be told. */
  private subscribe(peer: Peer, uri: string): boolean {
    const peers = this.subscribers.get(uri) ?? new Set<Peer>();
    const first = peers.size === 0;
    peers.add(peer);
    this.subscribers.set(uri, peers);
    return first;
  }

  /** Removes a subscriber; true if it was the last one and the server must be told. */
  private unsubscribe(peer: Peer, uri: string): boolean {
    const peers = this.subscribers.get(uri);
    if (!peers?.delete(peer)) return false;
    if (peers.size) return false;
    this.subscribers.delete(uri);
    return true;
  }

  /** `responseBytes`: the answer's size as received, if known; else it is measured here. */
  private observeToolCall(t: ToolCallTiming, answer: JSONRPCMessage, responseBytes?: number) {
    if (!this.onToolCall) return;
    const error = "error" in answer ? answer.error : undefined;
    const result = "result" in answer ? (answer.result as { isError?: boolean }) : undefined;
    this.onToolCall({
      tool: t.tool,
      durationMs: performance.now() - t.started,
      outcome: error ? "error" : result?.isError ? "tool_error" : "ok",
      errorCode: error?.code,
      requestBytes: t.requestBytes,
      responseBytes: responseBytes ?? Buffer.byteLength(JSON.stringify(error ?? result ?? null)),
    });
  }

  private send(message: JSONRPCMessage) {
    this.transport.send(message).catch((err) => this.shutdown(sendFailure(err)));
  }

  /**
   * Sends a client's request upstream. One the transport says never reached the server (its
   * sandbox was gone) goes back to its client unchanged, for the connection's next server; so the
   * session, should it close meanwhile, leaves it to this outcome rather than failing it.
   */
  private sendRequest(id: RequestId, entry: Pending & { kind: "peer" }, message: JSONRPCMessage) {
    const { transport } = this;
    const writing = isImmediate(transport) ? transport.sendNow(message) : transport.send(message);
    if (!writing) return this.sent(id, entry);
    const sent = writing.then(
      () => this.sent(id, entry),
      (err) => {
        const original = entry.sending;
        entry.sending = undefined;
        const never = isUndelivered(err);
        if (never && original && entry.peer.retry && this.pending.delete(id)) {
          if (entry.progressToken) this.progress.delete(entry.progressToken);
          this.shutdown(SANDBOX_GONE);
          return entry.peer.retry(original);
        }
        this.shutdown(sendFailure(err));
        if (this.pending.delete(id)) this.fail(entry, this.closedBecause);
      },
    );
    this.sends.add(sent);
    sent.finally(() => this.sends.delete(sent));
  }

  /** The transport took a client's request: it reached the server, or will be failed with the session. */
  private sent(id: RequestId, entry: Pending & { kind: "peer" }) {
    entry.sending = undefined;
    if (this.closed && this.pending.delete(id)) this.fail(entry, this.closedBecause);
  }

  /**
   * Fails everything in flight at once, so no client waits on a server that is gone; but for
   * requests still being sent that could yet be retried (sendRequest settles those).
   */
  private shutdown(reason: string) {
    if (this.closed) return;
    this.closed = true;
    this.closedBecause = reason;
    for (const [id, p] of this.pending) {
      if (p.kind === "peer" && p.sending && p.peer.retry) continue;
      this.pending.delete(id);
      this.fail(p, reason);
    }
    this.progress.clear();
    this.onclose?.();
  }

  private fail(p: Pending, reason: string) {
    if (p.toolCall) this.observeToolCall(p.toolCall, goneError(0, reason), 0);
    if (p.kind === "own") p.reject(new Error(reason));
    else p.peer.deliver(goneError(p.id, reason), p.id);
  }
}

/** The server answered one of Berth's own requests with a JSON-RPC error. */
export class McpRequestError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = "McpRequestError";
  }
}

function timeToolCall(method: string, params: Record<string, unknown> | undefined): ToolCallTiming | undefined {
  if (method !== "tools/call") return undefined;
  const name = typeof params?.name === "string" ? params.name : "";
  return {
    tool: name.slice(0, 200),
    started: performance.now(),
    requestBytes: Buffer.byteLength(JSON.stringify(params ?? null)),
  };
}

/** The size of the message just received, when the transport knows it (ProcessTransport does). */
function measuredBytes(transport: Transport): number | undefined {
  const bytes = (transport as { lastMessageBytes?: number }).lastMessageBytes;
  return typeof bytes === "number" ? bytes : undefined;
}

/** A transport that can write a message without a promise when it is taken at once (ProcessTransport). */
type ImmediateTransport = Transport & { sendNow(message: JSONRPCMessage): Promise<void> | undefined };
const isImmediate = (t: Transport): t is ImmediateTransport =>
  typeof (t as Partial<ImmediateTransport>).sendNow === "function";

/** The transport's word that a message provably never reached the server (UndeliveredError). */
const isUndelivered = (err: unknown) => (err as { undelivered?: boolean } | undefined)?.undelivered === true;

const sendFailure = (err: unknown) => (isUndelivered(err) ? SANDBOX_GONE : "The MCP server stopped reading its input.");

/** A tool name as a client sent it: anything but a string names no tool. */
const toolName = (name: unknown) => (typeof name === "string" ? name : "");
const unknownTool = (name: unknown) =>
  typeof name === "string" ? `Tool ${name.slice(0, 200)} not found` : "Tool names are strings";
/** Text a client chose, shown to people and stored: without control or format characters, nor lone surrogates. */
const printable = (text: string) => text.replace(/[\p{Cc}\p{Cf}\p{Cs}]/gu, "");
const refusal = (text: string) => ({ content: [{ type: "text", text: `${text}.` }], isError: true });

function goneError(id: RequestId, message = "The MCP server is not running."): JSONRPCMessage {
  return { jsonrpc: "2.0", id, error: { code: JSONRPC_SERVER_GONE, message } };
}
