"use client";

import Link from "next/link";
import { useEffect, useRef } from "react";
import { Button } from "@/components/ui/button";

/** A page of the dashboard failed to render: say so, offer a retry and a way back. */
export default function DashboardError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <div className="grid max-w-xl gap-4" role="alert">
      <h1 ref={heading} tabIndex={-1} className="text-2xl font-semibold tracking-tight outline-none">
        Something went wrong
      </h1>
      <p className="text-muted-foreground text-sm">
        This page could not be shown. Trying again often helps; if it keeps failing, give your operator this reference:{" "}
        <code>{error.digest ?? "none"}</code>.
      </p>
      <div className="flex gap-3">
        <Button onClick={reset}>Try again</Button>
        <Button asChild variant="outline">
          <Link href="/dashboard">Back to connections</Link>
        </Button>
      </div>
    </div>
  );
}
