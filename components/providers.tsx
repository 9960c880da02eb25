"use client";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { useState, type ReactNode } from "react";
import superjson from "superjson";

import { TRPCProvider } from "@/components/lib/trpc";
import type { AppRouter } from "@/server/trpc/router";

/** Errors the server decided (validation, conflict, rights) are answers: retrying is pointless. */
function shouldRetry(failureCount: number, error: unknown): boolean {
  if (
    error instanceof TRPCClientError &&
    error.data?.appCode &&
    error.data.appCode !== "internal"
  ) {
    return false;
  }

  return failureCount < 2;
}

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: { staleTime: 5_000, retry: shouldRetry, refetchOnWindowFocus: true },
      mutations: { retry: false },
    },
  });
}

let browserQueryClient: QueryClient | undefined;

function getQueryClient(): QueryClient {
  // A server render gets its own client so no data is shared between requests.
  if (typeof window === "undefined") return makeQueryClient();
  browserQueryClient ??= makeQueryClient();

  return browserQueryClient;
}

export function Providers({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      // The server refuses batches of more than 16 calls (app/api/trpc).
      links: [httpBatchLink({ url: "/api/trpc", transformer: superjson, maxItems: 16 })],
    }),
  );

  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
