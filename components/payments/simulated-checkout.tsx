"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Spinner } from "@/components/ui/spinner";
import { formatDateTime, formatMoney } from "@/components/lib/format";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type Page = RouterOutputs["payments"]["simulatedCheckout"]["get"];
type TestCard = Page["cards"][number]["number"];

/** "4242424242424242" → "4242 4242 4242 4242". */
function grouped(number: string): string {
  return number.replace(/(\d{4})(?=\d)/g, "$1 ");
}

/**
 * The simulated gateway's checkout page, in either of Stripe Checkout's two
 * modes: payment (buying credits) or setup (saving the card invoices and
 * top-ups are charged to). Submitting a test card makes the gateway send
 * Stripe-shaped webhooks to Tally's own webhook route; then the browser goes
 * back to the workspace.
 */
export function SimulatedCheckout({ sessionId }: { sessionId: string }) {
  const trpc = useTRPC();
  const page = useQuery(trpc.payments.simulatedCheckout.get.queryOptions({ sessionId }));

  if (page.isPending) {
    return (
      <Card>
        <CardBody className="flex items-center gap-2 text-sm text-slate-500">
          <Spinner /> Loading the checkout…
        </CardBody>
      </Card>
    );
  }
  if (page.isError) {
    return (
      <Alert tone="error" title="This checkout cannot be shown">
        {page.error.message}
      </Alert>
    );
  }

  return <CheckoutForm page={page.data} onChange={() => void page.refetch()} />;
}

function CheckoutForm({ page, onChange }: { page: Page; onChange: () => void }) {
  const trpc = useTRPC();
  const { session } = page;
  const [card, setCard] = useState<TestCard>(page.cards[0]?.number ?? "4242424242424242");
  const [declined, setDeclined] = useState<string | null>(session.declineMessage);
  const [leaving, setLeaving] = useState(false);
  const pay = useMutation(trpc.payments.simulatedCheckout.pay.mutationOptions());
  const cancel = useMutation(trpc.payments.simulatedCheckout.cancel.mutationOptions());
  const busy = pay.isPending || cancel.isPending || leaving;
  const error = pay.error?.message ?? cancel.error?.message;
  const setup = session.mode === "setup";
  const price =
    session.amountMinor !== null && session.currency
      ? formatMoney(session.amountMinor, session.currency)
      : null;

  const go = (url: string) => {
    setLeaving(true);
    window.location.assign(url);
  };

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setDeclined(null);
    const result = await pay.mutateAsync({ sessionId: session.id, card }).catch(() => null);
    if (!result) return;
    if (result.outcome === "declined") {
      setDeclined(result.message);
      onChange();
      return;
    }
    go(result.redirectUrl);
  }

  async function giveUp() {
    const result = await cancel.mutateAsync({ sessionId: session.id }).catch(() => null);
    if (result) go(result.redirectUrl);
  }

  return (
    <Card>
      <CardHeader
        title={setup ? "Save card" : "Checkout"}
        description={`For ${page.workspace.name}`}
        action={<Badge tone="amber">Simulated: no real money moves</Badge>}
      />
      <CardBody className="space-y-5">
        {setup ? (
          <p className="text-sm text-slate-700">
            Save a card for this workspace. Invoices and auto top-ups are charged to it from now on;
            nothing is charged today.
          </p>
        ) : (
          <div className="flex items-baseline justify-between gap-4">
            <p className="text-sm text-slate-700">{session.description}</p>
            <p className="text-2xl font-semibold tracking-tight text-slate-900" data-testid="price">
              {price}
            </p>
          </div>
        )}

        {session.status === "complete" && (
          <Alert tone="success" title={setup ? "Card saved" : "Paid"}>
            {setup ? "This card is saved." : "This checkout is paid."}{" "}
            <button
              type="button"
              className="font-medium underline"
              onClick={() => go(session.successUrl)}
            >
              Back to the workspace
            </button>
          </Alert>
        )}
        {session.status === "expired" && (
          <Alert tone="warning" title="This checkout has ended">
            {setup ? "No card was saved." : "Nothing was charged."}{" "}
            <button
              type="button"
              className="font-medium underline"
              onClick={() => go(session.cancelUrl)}
            >
              Back to the workspace
            </button>
          </Alert>
        )}

        {session.status === "open" && (
          <form onSubmit={submit} className="space-y-5">
            <fieldset className="space-y-2">
              <legend className="mb-2 text-sm font-medium text-slate-700">Test card</legend>
              {page.cards.map((option) => (
                <label
                  key={option.number}
                  className={cn(
                    "flex cursor-pointer flex-wrap items-center justify-between gap-x-3 gap-y-1 rounded-md px-3 py-2 ring-1 ring-inset",
                    card === option.number ? "bg-indigo-50 ring-indigo-300" : "ring-slate-200",
                  )}
                >
                  <span className="flex items-center gap-3">
                    <input
                      type="radio"
                      name="card"
                      value={option.number}
                      checked={card === option.number}
                      onChange={() => setCard(option.number)}
                      className="accent-indigo-600"
                    />
                    <span className="font-mono text-sm text-slate-800">
                      {grouped(option.number)}
                    </span>
                  </span>
                  <span className="text-xs text-slate-500">{option.label}</span>
                </label>
              ))}
            </fieldset>

            {declined && (
              <Alert tone="error" title={setup ? "Card declined" : "Payment declined"}>
                {declined} Choose another card, or cancel.
              </Alert>
            )}
            {error && <Alert tone="error">{error}</Alert>}

            <div className="flex items-center justify-between gap-3">
              <Button type="button" variant="ghost" disabled={busy} onClick={giveUp}>
                Cancel
              </Button>
              <Button
                type="submit"
                pending={pay.isPending || leaving}
                disabled={busy}
                pendingLabel={setup ? "Saving…" : "Paying…"}
              >
                {setup ? "Save card" : `Pay ${price}`}
              </Button>
            </div>
            <p className="text-xs text-slate-500">
              Open until {formatDateTime(session.expiresAt)}.{" "}
              {setup
                ? "The card becomes the one invoices and auto top-ups are charged to."
                : "The card you pay with is saved; later charges use it unless the workspace has chosen another card."}
            </p>
          </form>
        )}
      </CardBody>
    </Card>
  );
}
