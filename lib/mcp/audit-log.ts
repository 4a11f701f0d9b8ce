import type { Db } from "@/lib/db/db";
import { insertToolCalls, type ToolCallRecord } from "@/lib/db/queries/tool-calls";
import type { BerthMetrics } from "@/lib/metrics/metrics";

const FLUSH_MS = 1000;
const MAX_BATCH = 2000;

/**
 * Tool calls become connection events, written in batches off the request path (once a second:
 * on PGlite a row costs ~0.14 ms in a batch of 50 and ~0.05 ms in one of 1,000): an agent's
 * call never waits for the database. Holds names, durations, outcomes and sizes only; never
 * arguments or results. Each call is also counted at once in the operator's metrics, by server slug.
 */
export class AuditLog {
  private queue: ToolCallRecord[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly onError: (err: unknown) => void,
    private readonly metrics?: Pick<BerthMetrics, "toolCall">,
  ) {}

  record(r: ToolCallRecord, serverSlug: string) {
    this.metrics?.toolCall(serverSlug, r);
    this.queue.push(r);
    if (this.queue.length >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  /** The batch in one transaction; should it fail, each record alone, so one bad row loses only itself. */
  private async write(batch: ToolCallRecord[]) {
    try {
      await insertToolCalls(this.db, batch);
    } catch (err) {
      if (batch.length === 1) return this.onError(err);
      let lost = 0;
      for (const record of batch) await insertToolCalls(this.db, [record]).catch(() => lost++);
      if (lost) this.onError(new Error(`${lost} of ${batch.length} tool-call events were not written`, { cause: err }));
    }
  }
}
