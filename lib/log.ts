import pino from "pino";

/** Structured logs on stderr. Credentials never reach a log call: services pass ids, not values. */
export function createLogger(level: string) {
  return pino(
    { level, base: undefined, redact: ["*.credentials", "*.env", "*.authorization", "*.password"] },
    pino.destination(2),
  );
}
