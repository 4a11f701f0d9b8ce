import { CircleCheck, KeyRound } from "lucide-react";
import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import type { ServerDefinition } from "@/lib/core/schemas/server-definition";
import { credentialFields } from "./credential-fields";

export function ServerCard({
  definition,
  builtIn,
  installed,
  canInstall,
  canEdit,
}: {
  definition: ServerDefinition;
  builtIn: boolean;
  installed: boolean;
  canInstall: boolean;
  canEdit: boolean;
}) {
  const tools = definition.tools ?? [];
  const credentials = credentialFields(definition).length > 0;
  return (
    <Card className="gap-4" data-testid={`server-${definition.slug}`}>
      <CardHeader>
        <CardTitle>
          <h2 className="text-base">{definition.title}</h2>
        </CardTitle>
        <CardDescription>{definition.description}</CardDescription>
      </CardHeader>
      <CardContent className="flex flex-wrap gap-1.5">
        {installed && (
          <Badge className="border-transparent bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200">
            <CircleCheck aria-hidden />
            Installed
          </Badge>
        )}
        <Badge variant={credentials ? "secondary" : "outline"}>
          {credentials && <KeyRound aria-hidden />}
          {credentials ? "Needs credentials" : "No credentials"}
        </Badge>
        <Badge variant="outline">{builtIn ? "Built in" : "Operator-added"}</Badge>
        {definition.network && <Badge variant="outline">Internet</Badge>}
        {tools.length > 0 && (
          <details className="w-full text-sm" data-testid="card-tools">
            <summary className="text-muted-foreground hover:text-foreground focus-visible:ring-ring w-fit cursor-pointer rounded outline-none focus-visible:ring-2">
              {tools.length} {tools.length === 1 ? "tool" : "tools"}
            </summary>
            <ul className="mt-2 flex flex-wrap gap-1">
              {tools.map((t) => (
                <li key={t} className="bg-muted rounded px-1.5 py-0.5 font-mono text-xs break-all">
                  {t}
                </li>
              ))}
            </ul>
          </details>
        )}
      </CardContent>
      <CardFooter className="mt-auto flex items-center justify-between gap-2">
        <span className="text-muted-foreground font-mono text-xs">
          {definition.slug} · v{definition.version}
        </span>
        <div className="flex gap-2">
          {canEdit && (
            <Button asChild size="sm" variant="ghost">
              <Link href={`/dashboard/catalogue/${definition.slug}/edit`} aria-label={`Edit ${definition.title}`}>
                Edit
              </Link>
            </Button>
          )}
          {canInstall && (
            <Button asChild size="sm" variant="outline">
              <Link href={`/dashboard/install/${definition.slug}`} aria-label={`Install ${definition.title}`}>
                Install
              </Link>
            </Button>
          )}
        </div>
      </CardFooter>
    </Card>
  );
}
