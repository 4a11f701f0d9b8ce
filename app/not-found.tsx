import Link from "next/link";

export default function NotFound() {
  return (
    <main className="flex min-h-screen flex-col items-center justify-center gap-4 p-6 text-center">
      <h1 className="text-2xl font-semibold tracking-tight">Page not found</h1>
      <p className="text-muted-foreground text-sm">Nothing lives at this address.</p>
      <Link href="/dashboard" className="font-medium underline underline-offset-4">
        Go to the dashboard
      </Link>
    </main>
  );
}
