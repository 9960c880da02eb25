"use client";

import { useQuery } from "@tanstack/react-query";

import { useTRPC } from "@/components/lib/trpc";

/**
 * The workspace behind the URL's slug; the pages under /w/[slug] share its
 * cache entry. Right after creation the gateway customer is still being set
 * up by its reaction, so the query polls until it appears.
 */
export function useWorkspace(slug: string) {
  const trpc = useTRPC();

  return useQuery(
    trpc.workspaces.bySlug.queryOptions(
      { slug },
      {
        staleTime: 30_000,
        refetchInterval: (query) =>
          query.state.data && !query.state.data.gatewayCustomerId ? 1_000 : false,
      },
    ),
  );
}
