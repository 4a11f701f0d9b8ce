"use client";

import { useState } from "react";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import { useClientConfigQuery } from "@/lib/client/connections/connections-query";
import { CreateKeyInline } from "../api-keys/create-key-inline";

const PLACEHOLDER = "<YOUR_BERTH_API_KEY>";

/**
 * The connection's configuration for each agent client, with copy buttons. Berth keeps only key
 * hashes, so the key is a placeholder until the admin creates one here; it then appears in every
 * snippet, this once.
 */
export function ConnectAgent({
  accountId,
  connectionId,
  canCreateKeys,
}: {
  accountId: string;
  connectionId: string;
  canCreateKeys: boolean;
}) {
  const { data: config, error } = useClientConfigQuery(accountId, connectionId);
  const [client, setClient] = useState("claude-desktop");
  const [key, setKey] = useState<string>();
  const fill = (text: string) => (key ? text.replaceAll(PLACEHOLDER, key) : text);
  const snippet = config?.snippets.find((s) => s.client === client) ?? config?.snippets[0];

  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>Connect an agent</h2>
        </CardTitle>
        <CardDescription>
          Pick your client and paste its configuration.{" "}
          {key
            ? "The new key is in every snippet below; it is shown only now."
            : `Replace ${PLACEHOLDER} with an API key of this account.`}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid min-w-0 gap-4">
        {error && <p className="text-destructive text-sm">{error.message}</p>}
        {canCreateKeys && !key && (
          <CreateKeyInline defaultName={`agent for ${connectionId.slice(0, 8)}`} onCreated={setKey} />
        )}
        {config && snippet && (
          <>
            <fieldset className="flex flex-wrap gap-1.5 min-w-0">
              <legend className="sr-only">Client</legend>
              {config.snippets.map((s) => (
                <button
                  key={s.client}
                  type="button"
                  aria-pressed={s.client === snippet.client}
                  onClick={() => setClient(s.client)}
                  className="aria-pressed:bg-primary aria-pressed:text-primary-foreground hover:bg-accent focus-visible:ring-ring rounded-md border px-2.5 py-1 text-xs font-medium outline-none focus-visible:ring-2"
                >
                  {s.title}
                </button>
              ))}
            </fieldset>
            <div className="grid min-w-0 gap-2">
              <div className="flex items-center justify-between gap-2">
                <p className="text-muted-foreground text-xs">
                  {snippet.title}: {snippet.where}
                </p>
                <CopyButton value={fill(snippet.text)} label={`Copy the ${snippet.title} configuration`} />
              </div>
              <pre
                // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
                tabIndex={0}
                data-testid="client-config"
                className="bg-muted max-h-80 overflow-auto rounded-md p-3 font-mono text-xs"
              >
                {fill(snippet.text)}
              </pre>
            </div>
          </>
        )}
      </CardContent>
    </Card>
  );
}
