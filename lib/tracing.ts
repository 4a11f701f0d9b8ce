import type { Config } from "@/lib/config";

export type Tracing = { shutdown(): Promise<void> };

/**
 * Starts OpenTelemetry's trace SDK when the environment asks for it (config.ts: an exporter in
 * OTEL_TRACES_EXPORTER, or an OTLP endpoint); else loads nothing, and lib/core/tracing.ts stays
 * the API's no-op. Run first thing in the Node process (server.ts), so every span has a home.
 * The exporters read the rest of OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) and
 * OTEL_BSP_* themselves; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service
 * (default `berth`). No automatic instrumentation: Berth's spans are its own (docs/OPERATIONS.md).
 */
export async function startTracing(settings: Config["tracing"]): Promise<Tracing | undefined> {
  if (!settings) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor, ConsoleSpanExporter }, resources] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/resources"),
  ]);
  const processors = await Promise.all(
    settings.exporters.map(async (name) => {
      if (name === "console") return new BatchSpanProcessor(new ConsoleSpanExporter());
      const { OTLPTraceExporter } =
        settings.protocol === "http/json"
          ? await import("@opentelemetry/exporter-trace-otlp-http")
          : await import("@opentelemetry/exporter-trace-otlp-proto");
      return new BatchSpanProcessor(new OTLPTraceExporter());
    }),
  );
  const resource = resources
    .resourceFromAttributes({ "service.name": "berth" })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  provider.register(); // the global tracer provider and an AsyncLocalStorage context manager
  return provider;
}
