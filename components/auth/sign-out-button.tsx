import { LogOut } from "lucide-react";
import { Button } from "@/components/ui/button";

/** A plain form posting to the sign-out server action: works before hydration too. */
export function SignOutButton({ action }: { action: () => Promise<void> }) {
  return (
    <form action={action}>
      <Button type="submit" variant="outline" size="sm">
        <LogOut />
        Sign out
      </Button>
    </form>
  );
}
