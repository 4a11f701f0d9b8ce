import { Anchor } from "lucide-react";
import type { ReactNode } from "react";

export default function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <main className="bg-muted/40 flex min-h-screen flex-col items-center justify-center gap-6 p-6">
      <div className="flex items-center gap-2 text-lg font-semibold">
        <Anchor className="size-5" />
        Berth
      </div>
      <div className="w-full max-w-sm">{children}</div>
    </main>
  );
}
