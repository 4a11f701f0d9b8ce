"use client";

import { Check, Copy } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import { Button } from "@/components/ui/button";

/** Copies `value` to the clipboard; says so on the button (and to screen readers) for a moment. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      toast.error("The browser did not allow copying; select the text instead.");
    }
  };
  return (
    <Button type="button" variant="outline" size="sm" onClick={copy} aria-label={copied ? `${label}: copied` : label}>
      {copied ? <Check aria-hidden /> : <Copy aria-hidden />}
      <span aria-live="polite">{copied ? "Copied" : "Copy"}</span>
    </Button>
  );
}

/** A value shown in full (wrapping, never widening the page) with its copy button. */
export function CopyField({ value, label, testId }: { value: string; label: string; testId?: string }) {
  return (
    <div className="flex min-w-0 items-start gap-2">
      <code data-testid={testId} className="bg-muted min-w-0 flex-1 rounded px-2 py-1.5 font-mono text-xs break-all">
        {value}
      </code>
      <CopyButton value={value} label={label} />
    </div>
  );
}
