"use client";

import { useEffect, useState } from "react";
import { formatUtc } from "./format";

/** "59:12" or "1:02:03" until `iso`; "0:00" once past. */
export function remaining(iso: string, now: number) {
  const total = Math.max(0, Math.floor((Date.parse(iso) - now) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * Time left until expiry, ticking each second. Rendered first as the absolute time (the server
 * and the browser agree on it; they would not on "now"), then counting down once mounted.
 */
export function Countdown({
  expiresAt,
  className,
  label = "expires in",
  testId = "connection-expires",
}: {
  expiresAt: string;
  className?: string;
  /** What ends when it runs out ("expires in", "fails in"). */
  label?: string;
  testId?: string;
}) {
  const [now, setNow] = useState<number | undefined>(undefined);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return (
    <time dateTime={expiresAt} title={formatUtc(expiresAt, true)} className={className} data-testid={testId}>
      {now === undefined ? formatUtc(expiresAt) : `${label} ${remaining(expiresAt, now)}`}
    </time>
  );
}
