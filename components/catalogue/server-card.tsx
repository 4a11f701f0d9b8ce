import { KeyRound } from "lucide-react";
import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardAction, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import type { ServerDefinition } from "@/lib/core/schemas/server-definition";
import { credentialFields } from "./credential-fields";

export function ServerCard({ definition }: { definition: ServerDefinition }) {
  return (
    <Card className="gap-4" data-testid={`server-${definition.slug}`}>
      <CardHeader>
        <CardTitle>{definition.title}</CardTitle>
        <CardDescription>{definition.description}</CardDescription>
        <CardAction>
          {credentialFields(definition).length > 0 ? (
            <Badge variant="secondary">
              <KeyRound />
              Needs credentials
            </Badge>
          ) : (
            <Badge variant="outline" className="text-muted-foreground">
              No credentials
            </Badge>
          )}
        </CardAction>
      </CardHeader>
      <CardContent className="mt-auto flex items-center justify-between gap-2">
        <code className="bg-muted text-muted-foreground rounded px-1.5 py-0.5 font-mono text-xs">
          {definition.slug}
        </code>
        <Button asChild size="sm" variant="outline">
          <Link href={`/dashboard/install/${definition.slug}`}>Install</Link>
        </Button>
      </CardContent>
    </Card>
  );
}
