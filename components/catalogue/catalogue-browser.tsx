"use client";

import { useState } from "react";
import { Input } from "@/components/ui/input";
import type { ServerDefinition } from "@/lib/core/schemas/server-definition";
import { credentialFields } from "./credential-fields";
import { ServerCard } from "./server-card";

export type CatalogueEntry = { definition: ServerDefinition; builtIn: boolean; installed: boolean };

const FILTERS = {
  all: { label: "All", keep: () => true },
  installed: { label: "Installed", keep: (e: CatalogueEntry) => e.installed },
  credentials: { label: "Needs credentials", keep: (e: CatalogueEntry) => credentialFields(e.definition).length > 0 },
  none: { label: "No credentials", keep: (e: CatalogueEntry) => credentialFields(e.definition).length === 0 },
  operator: { label: "Added by an operator", keep: (e: CatalogueEntry) => !e.builtIn },
} as const;
type Filter = keyof typeof FILTERS;

/** The catalogue with a search over titles, slugs, descriptions and tools, and filters. */
export function CatalogueBrowser({
  entries,
  canInstall,
  canEdit,
}: {
  entries: CatalogueEntry[];
  canInstall: boolean;
  canEdit: boolean;
}) {
  const [query, setQuery] = useState("");
  const [filter, setFilter] = useState<Filter>("all");
  const q = query.trim().toLowerCase();
  const shown = entries.filter(
    (e) =>
      FILTERS[filter].keep(e) &&
      (!q ||
        [e.definition.title, e.definition.slug, e.definition.description, ...(e.definition.tools ?? [])].some((t) =>
          t.toLowerCase().includes(q),
        )),
  );
  return (
    <div className="grid gap-4">
      <div className="flex flex-wrap items-center gap-3">
        <div className="w-full sm:w-72">
          <label htmlFor="catalogue-search" className="sr-only">
            Search the catalogue
          </label>
          <Input
            id="catalogue-search"
            type="search"
            placeholder="Search servers…"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
        <fieldset className="flex flex-wrap gap-1.5 min-w-0">
          <legend className="sr-only">Filter</legend>
          {(Object.keys(FILTERS) as Filter[]).map((f) => (
            <button
              key={f}
              type="button"
              aria-pressed={filter === f}
              onClick={() => setFilter(f)}
              className="aria-pressed:bg-primary aria-pressed:text-primary-foreground hover:bg-accent focus-visible:ring-ring rounded-md border px-2.5 py-1 text-xs font-medium outline-none focus-visible:ring-2"
            >
              {FILTERS[f].label}
            </button>
          ))}
        </fieldset>
      </div>
      <p className="text-muted-foreground text-sm" aria-live="polite">
        {shown.length} of {entries.length} servers
      </p>
      {shown.length === 0 ? (
        <p className="text-muted-foreground rounded-lg border border-dashed p-8 text-center text-sm">
          No server matches.
        </p>
      ) : (
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {shown.map((e) => (
            <ServerCard key={e.definition.id} {...e} canInstall={canInstall} canEdit={canEdit} />
          ))}
        </div>
      )}
    </div>
  );
}
