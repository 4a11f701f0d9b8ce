/** Shown while a dashboard page's data loads. */
export default function Loading() {
  return (
    <div className="grid gap-4" role="status" aria-label="Loading">
      <div className="bg-muted h-8 w-48 animate-pulse rounded" />
      <div className="bg-muted h-32 animate-pulse rounded-lg" />
      <div className="bg-muted h-32 animate-pulse rounded-lg" />
    </div>
  );
}
