import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/cn";
import type { Connection } from "@/lib/core/schemas/connection";

const STYLE: Record<Connection["status"], string> = {
  running: "border-transparent bg-emerald-100 text-emerald-800",
  deploying: "border-transparent bg-sky-100 text-sky-800",
  failed: "border-transparent bg-red-100 text-red-800",
  expired: "text-muted-foreground",
  deleted: "text-muted-foreground",
};

export function ConnectionStatusBadge({ status }: { status: Connection["status"] }) {
  return (
    <Badge variant="outline" className={cn("capitalize", STYLE[status])}>
      {status}
    </Badge>
  );
}
