"use client";

import { Button, ButtonLink } from "@/components/ui/button";

/** Shown when a page fails to render on the server; the details are in the server log. */
export default function ErrorPage({ retry }: { error: unknown; retry: () => void }) {
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center gap-4 px-4 text-center">
      <h1 className="text-xl font-semibold text-slate-900">Something went wrong</h1>
      <p className="max-w-md text-sm text-slate-600">
        The page could not be shown. It was logged on our side; try again in a moment.
      </p>
      <div className="flex gap-2">
        <Button onClick={() => retry()}>Try again</Button>
        <ButtonLink href="/" variant="secondary">
          Go to Tally
        </ButtonLink>
      </div>
    </main>
  );
}
