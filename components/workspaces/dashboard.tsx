"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";

import type { Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { BalanceCard, GrantsCard } from "./balance-card";
import { LedgerTable } from "./ledger-table";
import { TryFeatureForm } from "./try-feature-form";
import { UsageTable } from "./usage-table";
import { useWorkspace } from "./use-workspace";

/** Fast polling until the initial credits land (a reaction, under a second), then slow. */
const WAITING_INTERVAL = 500;
const SETTLED_INTERVAL = 15_000;

export function WorkspaceDashboard({ slug }: { slug: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;

  return <Dashboard workspace={workspace.data} />;
}

function Dashboard({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const scope = { workspaceId: workspace.workspaceId };
  const [historyLimit, setHistoryLimit] = useState(20);

  const balance = useQuery(
    trpc.credits.balance.queryOptions(scope, {
      refetchInterval: (query) =>
        query.state.data?.allocated ? SETTLED_INTERVAL : WAITING_INTERVAL,
    }),
  );
  const allocated = balance.data?.allocated;
  const history = useQuery(
    trpc.credits.history.queryOptions(
      { ...scope, limit: historyLimit },
      { refetchInterval: allocated ? SETTLED_INTERVAL : WAITING_INTERVAL * 2 },
    ),
  );
  const usage = useQuery(
    trpc.credits.usage.queryOptions(scope, { refetchInterval: SETTLED_INTERVAL }),
  );

  // The allocation commits the grant and its ledger rows together; once the balance shows it,
  // refetch the history at once instead of waiting for its next tick.
  const seenAllocated = useRef(allocated);
  useEffect(() => {
    if (seenAllocated.current === false && allocated) {
      void queryClient.invalidateQueries(trpc.credits.history.queryFilter());
    }
    if (allocated !== undefined) seenAllocated.current = allocated;
  }, [allocated, queryClient, trpc]);

  return (
    <div className="space-y-6">
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="space-y-6">
          <BalanceCard balance={balance} creditsHref={`/w/${workspace.slug}/credits`} />
          <GrantsCard balance={balance.data} />
        </div>
        <div className="lg:col-span-2">
          <TryFeatureForm workspace={workspace} />
        </div>
      </div>
      <LedgerTable
        history={history}
        canShowMore={historyLimit < 100 && history.data?.nextCursor !== undefined}
        onShowMore={() => setHistoryLimit(100)}
      />
      <UsageTable usage={usage} priceTable={workspace.tier.priceTable} />
    </div>
  );
}
