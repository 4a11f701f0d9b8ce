"use client";

import { Monitor, Moon, Sun } from "lucide-react";
import { useTheme } from "next-themes";
import { useEffect, useState } from "react";

const NEXT = { system: "light", light: "dark", dark: "system" } as const;
const ICON = { system: Monitor, light: Sun, dark: Moon };

/** Cycles system → light → dark; "system" follows the operating system's colour scheme. */
export function ThemeToggle() {
  const { theme = "system", setTheme } = useTheme();
  // The stored choice is only known in the browser: render the neutral state until mounted.
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  const current = (mounted ? theme : "system") as keyof typeof NEXT;
  const Icon = ICON[current] ?? Monitor;
  return (
    <button
      type="button"
      onClick={() => setTheme(NEXT[current] ?? "system")}
      className="hover:bg-accent focus-visible:ring-ring inline-flex size-9 items-center justify-center rounded-md border outline-none focus-visible:ring-2"
      aria-label={`Colour scheme: ${current}. Switch to ${NEXT[current] ?? "system"}.`}
      title={`Colour scheme: ${current}`}
    >
      <Icon className="size-4" aria-hidden />
    </button>
  );
}
