"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { cn } from "@/lib/cn";

const LINKS = [
  { href: "/dashboard", label: "Connections" },
  { href: "/dashboard/catalogue", label: "Catalogue" },
  { href: "/dashboard/api-keys", label: "API keys" },
  { href: "/dashboard/members", label: "Members" },
  { href: "/dashboard/settings", label: "Settings" },
];

/** The dashboard's sections; the current one marked for screen readers too. */
export function NavLinks() {
  const pathname = usePathname();
  const current = (href: string) =>
    href === "/dashboard"
      ? pathname === href || pathname.startsWith("/dashboard/connections")
      : pathname.startsWith(href);
  return (
    <nav aria-label="Dashboard" className="-mx-2 flex gap-1 overflow-x-auto">
      {LINKS.map((l) => (
        <Link
          key={l.href}
          href={l.href}
          aria-current={current(l.href) ? "page" : undefined}
          className={cn(
            "text-muted-foreground hover:text-foreground rounded-md px-2 py-1.5 text-sm whitespace-nowrap",
            "aria-[current=page]:bg-accent aria-[current=page]:text-foreground aria-[current=page]:font-medium",
          )}
        >
          {l.label}
        </Link>
      ))}
      <a
        href="/api/docs"
        className="text-muted-foreground hover:text-foreground rounded-md px-2 py-1.5 text-sm whitespace-nowrap"
      >
        API docs
      </a>
    </nav>
  );
}
