import { LoaderCircle, Moon } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/cn";
import type { Connection } from "@/lib/core/schemas/connection";

// Colours pass WCAG AA contrast in both schemes.
const STYLE: Record<Connection["status"], string> = {
  running: "border-transparent bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200",
  deploying: "border-transparent bg-sky-100 text-sky-900 dark:bg-sky-950 dark:text-sky-200",
  failed: "border-transparent bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200",
  expired: "text-muted-foreground",
  deleted: "text-muted-foreground",
  auth_required: "border-transparent bg-amber-100 text-amber-950 dark:bg-amber-950 dark:text-amber-100",
  sleeping: "border-transparent bg-indigo-100 text-indigo-900 dark:bg-indigo-950 dark:text-indigo-200",
};

/** What the badge says; the API's status names, except one a person reads better in words. */
const LABEL: Partial<Record<Connection["status"], string>> = { auth_required: "Sign-in needed" };

export function ConnectionStatusBadge({ status }: { status: Connection["status"] }) {
  return (
    <Badge variant="outline" className={cn(!LABEL[status] && "capitalize", STYLE[status])}>
      {status === "deploying" && <LoaderCircle className="animate-spin" aria-hidden />}
      {status === "sleeping" && <Moon aria-hidden />}
      {LABEL[status] ?? status}
    </Badge>
  );
}
