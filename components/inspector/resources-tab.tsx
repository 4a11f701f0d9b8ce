"use client";

import { type FormEvent, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { useReadResourceMutation, useResourcesQuery } from "@/lib/client/connections/inspector-query";
import type { TabProps } from "./inspector";
import { ResourceReadView } from "./result-view";

/** The server's resources (name, URI, type, description); reads one, listed or by URI. */
export function ResourcesTab({ accountId, connectionId, running, record }: TabProps) {
  const { data: resources = [], error, isLoading } = useResourcesQuery(accountId, connectionId, running);
  const read = useReadResourceMutation(connectionId);
  const [uri, setUri] = useState("");
  const [reading, setReading] = useState<string>();

  const run = async (target: string) => {
    setReading(target);
    const started = performance.now();
    const at = new Date();
    const args = { uri: target };
    try {
      const result = await read.mutateAsync(args);
      record({
        kind: "resource",
        name: target,
        args,
        at,
        ms: Math.round(performance.now() - started),
        ok: true,
        result,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      record({
        kind: "resource",
        name: target,
        args,
        at,
        ms: Math.round(performance.now() - started),
        ok: false,
        error: message,
      });
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (uri.trim()) void run(uri.trim());
  };

  return (
    <div className="grid min-w-0 grid-cols-1 gap-4">
      {error && <p className="text-destructive text-sm">{error.message}</p>}
      {isLoading ? (
        <p className="text-muted-foreground text-sm">Loading resources…</p>
      ) : resources.length === 0 ? (
        <p className="text-muted-foreground text-sm">The server lists no resources.</p>
      ) : (
        <ul
          className="grid max-h-96 min-w-0 grid-cols-1 gap-2 overflow-auto"
          aria-label="Resources"
          data-testid="resource-list"
        >
          {resources.map((r) => {
            const mime = typeof r.mimeType === "string" ? r.mimeType : undefined;
            const label = r.name ?? r.uri ?? "resource";
            return (
              <li
                key={r.uri ?? r.name}
                className="flex min-w-0 flex-wrap items-start gap-x-3 gap-y-1 rounded-md border p-3"
              >
                <div className="grid min-w-0 flex-1 grid-cols-1 gap-1">
                  <p className="flex flex-wrap items-center gap-2 text-sm font-medium break-all">
                    {label}
                    {mime && <Badge variant="secondary">{mime}</Badge>}
                  </p>
                  <code className="text-muted-foreground font-mono text-xs break-all">{r.uri}</code>
                  {r.description && <p className="text-muted-foreground text-xs break-words">{r.description}</p>}
                </div>
                <Button
                  type="button"
                  variant="outline"
                  size="sm"
                  aria-label={`Read ${label}`}
                  disabled={!r.uri || read.isPending}
                  onClick={() => r.uri && void run(r.uri)}
                >
                  Read
                </Button>
              </li>
            );
          })}
        </ul>
      )}
      <form onSubmit={submit} className="grid min-w-0 grid-cols-1 gap-2" noValidate>
        <Label htmlFor="inspector-resource-uri">Read by URI</Label>
        <div className="flex min-w-0 gap-2">
          <Input
            id="inspector-resource-uri"
            value={uri}
            onChange={(e) => setUri(e.target.value)}
            placeholder="demo://resource/dynamic/text/1"
            className="font-mono"
            autoComplete="off"
          />
          <Button type="submit" variant="outline" disabled={!uri.trim() || read.isPending}>
            Read URI
          </Button>
        </div>
      </form>
      {read.isPending && <p className="text-muted-foreground text-sm">Reading {reading}…</p>}
      {read.error && (
        <p role="alert" className="text-destructive text-sm break-words">
          {read.error.message}
        </p>
      )}
      {read.data && !read.isPending && <ResourceReadView result={read.data} />}
    </div>
  );
}
