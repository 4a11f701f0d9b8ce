import Link from "next/link";
import { Button } from "@/components/ui/button";

export default function DashboardNotFound() {
  return (
    <div className="grid max-w-xl gap-4">
      <h1 className="text-2xl font-semibold tracking-tight">Not found</h1>
      <p className="text-muted-foreground text-sm">
        There is no such page or connection in this account. It may have been deleted.
      </p>
      <Button asChild variant="outline" className="w-fit">
        <Link href="/dashboard">Back to connections</Link>
      </Button>
    </div>
  );
}
