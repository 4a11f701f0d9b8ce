"use client";

import { useState } from "react";
import { Button } from "@/components/ui/button";
import { answerConsentAction } from "./actions";

/** Allow or Deny; the browser then goes back to the client with its answer. */
export function ConsentButtons({ request }: { request: string }) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();
  const answer = async (allow: boolean) => {
    if (pending) return;
    setPending(true);
    const result = await answerConsentAction({ request, allow });
    if (result.ok) return window.location.assign(result.data.redirect);
    setPending(false);
    setError(result.error.message);
  };
  return (
    <div className="grid gap-2">
      {error && (
        <p role="alert" className="text-destructive text-sm">
          {error}
        </p>
      )}
      <div className="flex gap-2">
        <Button onClick={() => answer(true)} aria-disabled={pending}>
          Allow
        </Button>
        <Button variant="outline" onClick={() => answer(false)} aria-disabled={pending}>
          Deny
        </Button>
      </div>
    </div>
  );
}
