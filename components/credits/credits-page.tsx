"use client";

import { useQuery } from "@tanstack/react-query";
import { usePathname, useRouter } from "next/navigation";

import { canManageBilling } from "@/components/lib/roles";
import type { Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { Card, CardBody } from "@/components/ui/card";
import { useWorkspace } from "@/components/workspaces/use-workspace";

import { AutoTopUpSettings } from "./auto-top-up-form";
import { BalanceOverview, GrantBreakdown, PeriodOutlook } from "./balance-panel";
import { BuyCredits, PurchaseReturn } from "./buy-credits";
import { HistoryTable } from "./history-table";
import { PurchasesTable } from "./purchases-table";
import { QuotaTable } from "./quota-table";
import { TransferForm } from "./transfer-form";
import { UsageChart } from "./usage-chart";

/** Fast polling until the initial credits land (a reaction, under a second), then slow. */
const WAITING_INTERVAL = 500;
const SETTLED_INTERVAL = 15_000;

export interface PurchaseReturnParams {
  purchaseId?: string;
  cancelled: boolean;
}

/**
 * Everything about a workspace's credits: the balance and where it sits,
 * usage by day, buying (packs, auto top-up, purchases and refunds), the
 * ledger, and transfers between the owner's workspaces.
 */
export function CreditsPage({
  slug,
  returned,
}: {
  slug: string;
  /** Set when the browser comes back from a checkout. */
  returned: PurchaseReturnParams;
}) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;

  return <Credits workspace={workspace.data} returned={returned} />;
}

function Credits({
  workspace,
  returned,
}: {
  workspace: Workspace;
  returned: PurchaseReturnParams;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const scope = { workspaceId: workspace.workspaceId };
  const balance = useQuery(
    trpc.credits.balance.queryOptions(scope, {
      refetchInterval: (query) =>
        query.state.data?.allocated ? SETTLED_INTERVAL : WAITING_INTERVAL,
    }),
  );
  const rollover = useQuery(
    trpc.credits.rollover.queryOptions(scope, { refetchInterval: SETTLED_INTERVAL }),
  );
  const overage = useQuery(
    trpc.credits.overage.queryOptions(scope, { refetchInterval: SETTLED_INTERVAL }),
  );
  const billing = canManageBilling(workspace.role);

  return (
    <div className="space-y-6">
      <h2 className="sr-only">Credits</h2>
      {returned.purchaseId && billing && (
        <PurchaseReturn
          workspace={workspace}
          purchaseId={returned.purchaseId}
          cancelled={returned.cancelled}
          onDismiss={() => router.replace(pathname, { scroll: false })}
        />
      )}
      <div className="grid items-start gap-6 lg:grid-cols-3">
        <div className="space-y-6">
          <BalanceOverview balance={balance} />
          <PeriodOutlook rollover={rollover} overage={overage} />
        </div>
        <div className="lg:col-span-2">
          <GrantBreakdown balance={balance.data} />
        </div>
      </div>
      <UsageChart workspace={workspace} />
      <QuotaTable workspace={workspace} />
      {billing ? (
        <>
          <div className="grid gap-6 lg:grid-cols-3">
            <div className="lg:col-span-2">
              <BuyCredits workspace={workspace} />
            </div>
            <AutoTopUpSettings workspace={workspace} />
          </div>
          <PurchasesTable workspace={workspace} />
        </>
      ) : (
        <Card>
          <CardBody className="text-sm text-slate-600">
            Buying credits, auto top-up and refunds are for the workspace&apos;s billing members,
            admins and owners.
          </CardBody>
        </Card>
      )}
      <HistoryTable workspace={workspace} />
      <TransferForm workspace={workspace} />
    </div>
  );
}
