"use client";

import { useCallback, useRef, useState } from "react";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { History, type HistoryEntry } from "./history";
import { PromptsTab } from "./prompts-tab";
import { ResourcesTab } from "./resources-tab";
import { Tabs } from "./tabs";
import { ToolsTab } from "./tools-tab";

/** Adds a finished call to the history. */
export type Record = (entry: Omit<HistoryEntry, "id">) => void;

/** What each tab gets: the connection, whether its server runs, and the history to add to. */
export type TabProps = { accountId: string; connectionId: string; running: boolean; record: Record };

/**
 * The inspector of a running connection: its tools (a form from each tool's inputSchema),
 * resources and prompts, through the inspector API, with this page's calls in a history.
 */
export function Inspector({
  accountId,
  connectionId,
  running,
}: {
  accountId: string;
  connectionId: string;
  running: boolean;
}) {
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const next = useRef(0);
  const record = useCallback<Record>((entry) => {
    next.current += 1;
    const id = next.current;
    setHistory((h) => [{ ...entry, id }, ...h].slice(0, 100));
  }, []);
  const props = { accountId, connectionId, running, record };

  return (
    <Card className="min-w-0">
      <CardHeader>
        <CardTitle>
          <h2>Inspector</h2>
        </CardTitle>
        <CardDescription>
          {running
            ? "Calls go through the connection's server; tool calls are audited."
            : "The connection is not running."}
        </CardDescription>
      </CardHeader>
      {running && (
        <CardContent className="grid min-w-0 grid-cols-1 gap-6">
          <Tabs
            label="Inspect the server"
            tabs={[
              { id: "tools", label: "Tools", content: <ToolsTab {...props} /> },
              { id: "resources", label: "Resources", content: <ResourcesTab {...props} /> },
              { id: "prompts", label: "Prompts", content: <PromptsTab {...props} /> },
            ]}
          />
          <History entries={history} />
        </CardContent>
      )}
    </Card>
  );
}
