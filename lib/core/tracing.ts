import { type Attributes, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

/**
 * Berth's spans, through OpenTelemetry's API alone: without an SDK registered (the default, see
 * lib/tracing.ts) every call here is the API's no-op. Attributes name things (connection ids,
 * server slugs, methods, tool names); never arguments, results, credentials or error messages,
 * which may quote a server's output.
 */
export const tracer = trace.getTracer("berth");

/** Runs `fn` in a span that is the active one meanwhile (its children nest under it); ends it. */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes, kind }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute("error.type", err instanceof Error ? err.constructor.name : typeof err);
      throw err;
    } finally {
      span.end();
    }
  });
}
