"use client";

import { type FormEvent, useState } from "react";
import { toast } from "sonner";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { useExtendMutation } from "@/lib/client/connections/connections-query";
import type { Connection } from "@/lib/core/schemas/connection";
import { formatUtc } from "./format";

const DAY_MINUTES = 24 * 60;

/**
 * +15 min, +1 h or a custom number of minutes, added to the current expiry. The buttons stay
 * focusable while a request runs (aria-disabled, not disabled), so keyboard focus is never lost.
 */
export function ExtendControls({ conn, accountId }: { conn: Connection; accountId: string }) {
  const extend = useExtendMutation(accountId, conn.id);
  const [minutes, setMinutes] = useState("30");
  const [customError, setCustomError] = useState<string>();
  const usable = conn.status === "running" && !extend.isPending;

  const by = (addMinutes: number) => {
    if (!usable) return;
    const target = new Date(Date.parse(conn.expires_at) + addMinutes * 60_000).toISOString();
    extend.mutate(target, {
      onSuccess: (updated) => toast.success(`Extended: now expires ${formatUtc(updated.expires_at)}.`),
      onError: (err) => toast.error(`Not extended: ${err.message}`),
    });
  };
  const custom = (e: FormEvent) => {
    e.preventDefault();
    const n = Number(minutes);
    if (!Number.isInteger(n) || n < 1 || n > DAY_MINUTES) {
      setCustomError(`Whole minutes from 1 to ${DAY_MINUTES}.`);
      return;
    }
    setCustomError(undefined);
    by(n);
  };

  return (
    <fieldset className="flex flex-wrap items-end gap-2 min-w-0">
      <legend className="sr-only">Extend</legend>
      <Button size="sm" aria-disabled={!usable} onClick={() => by(15)}>
        +15 min
      </Button>
      <Button size="sm" variant="outline" aria-disabled={!usable} onClick={() => by(60)}>
        +1 h
      </Button>
      <form onSubmit={custom} className="flex items-end gap-2" noValidate>
        <div className="grid gap-1">
          <Label htmlFor="extend-minutes" className="text-xs">
            Minutes
          </Label>
          <Input
            id="extend-minutes"
            inputMode="numeric"
            className="h-8 w-20"
            value={minutes}
            onChange={(e) => setMinutes(e.target.value)}
            aria-invalid={customError ? true : undefined}
            aria-describedby={customError ? "extend-minutes-error" : undefined}
          />
        </div>
        <Button type="submit" size="sm" variant="outline" aria-disabled={!usable}>
          Extend
        </Button>
      </form>
      {customError && (
        <p id="extend-minutes-error" className="text-destructive w-full text-sm">
          {customError}
        </p>
      )}
    </fieldset>
  );
}
