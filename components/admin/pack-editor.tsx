"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { InputField } from "@/components/ui/field";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { parseWholeCredits } from "@/components/credits/describe";
import { formatCredits, formatDateTime, formatMoney } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { moneyInputValue, parseMoneyInput } from "@/components/lib/money-input";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type Pack = RouterOutputs["credits"]["packs"]["all"][number];

const fields = ["name", "credits", "priceMinor", "currency"] as const;
type PackField = (typeof fields)[number];

/**
 * The credit packs customers can buy. Editing a pack changes what is sold
 * from now on; purchases keep the credits and price they were made at.
 * Archiving stops offering a pack without touching anything sold.
 */
export function PackEditor() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const packs = useQuery(trpc.credits.packs.all.queryOptions());
  const [editing, setEditing] = useState<string>();
  const [notice, setNotice] = useState<{ ok: boolean; message: string }>();
  const archive = useMutation(
    trpc.credits.packs.archive.mutationOptions({
      onSuccess: (pack) =>
        setNotice({
          ok: true,
          message: pack.archivedAt
            ? `${pack.name} is archived: no longer offered.`
            : `${pack.name} is offered again.`,
        }),
      onError: (error) => setNotice({ ok: false, message: error.message }),
      onSettled: () => queryClient.invalidateQueries(trpc.credits.packs.pathFilter()),
    }),
  );
  const rows = packs.data ?? [];

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title="Credit packs"
          description={
            "What customers can buy. An edit applies to purchases from now on; a purchase keeps " +
            "the credits and price it was made at."
          }
        />
        {notice && (
          <div className="px-5 pt-4">
            <Alert tone={notice.ok ? "success" : "error"}>{notice.message}</Alert>
          </div>
        )}
        <Table label="Credit packs">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Name</Th>
              <Th align="right">Credits</Th>
              <Th align="right">Price</Th>
              <Th>Status</Th>
              <Th>Created</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={packs}
              colSpan={6}
              subject="the packs"
              isEmpty={rows.length === 0}
              empty="No packs yet. Create the first one below."
            />
            {rows.map((pack) =>
              editing === pack.id ? (
                <tr key={pack.id}>
                  <td colSpan={6} className="bg-slate-50/60 px-5 py-4">
                    <PackForm
                      pack={pack}
                      onDone={(saved) => {
                        setEditing(undefined);
                        setNotice({ ok: true, message: `${saved.name} saved.` });
                      }}
                      onCancel={() => setEditing(undefined)}
                    />
                  </td>
                </tr>
              ) : (
                <tr
                  key={pack.id}
                  data-testid="pack-row"
                  className={pack.archivedAt ? "text-slate-400" : undefined}
                >
                  <Td className="font-medium">{pack.name}</Td>
                  <Td numeric>{formatCredits(pack.credits)}</Td>
                  <Td numeric>{formatMoney(pack.priceMinor, pack.currency)}</Td>
                  <Td>
                    {pack.archivedAt ? (
                      <Badge>Archived {formatDateTime(pack.archivedAt)}</Badge>
                    ) : (
                      <Badge tone="green">On offer</Badge>
                    )}
                  </Td>
                  <Td className="whitespace-nowrap">{formatDateTime(pack.createdAt)}</Td>
                  <Td className="text-right whitespace-nowrap">
                    <div className="flex justify-end gap-2">
                      <Button
                        variant="secondary"
                        size="sm"
                        onClick={() => {
                          setNotice(undefined);
                          setEditing(pack.id);
                        }}
                      >
                        Edit
                      </Button>
                      <Button
                        variant={pack.archivedAt ? "secondary" : "danger"}
                        size="sm"
                        pending={archive.isPending && archive.variables?.packId === pack.id}
                        disabled={archive.isPending}
                        onClick={() => {
                          const archiving = !pack.archivedAt;
                          if (
                            !archiving ||
                            window.confirm(
                              `Archive ${pack.name}? Customers can no longer buy it; past ` +
                                `purchases stay as they are.`,
                            )
                          ) {
                            archive.mutate({ packId: pack.id, archived: archiving });
                          }
                        }}
                      >
                        {pack.archivedAt ? "Offer again" : "Archive"}
                      </Button>
                    </div>
                  </Td>
                </tr>
              ),
            )}
          </tbody>
        </Table>
      </Card>
      <Card>
        <CardHeader
          title="New pack"
          description="Offered to every workspace as soon as it is saved."
        />
        <CardBody>
          <PackForm
            onDone={(saved) => setNotice({ ok: true, message: `${saved.name} created.` })}
          />
        </CardBody>
      </Card>
    </div>
  );
}

/** Creates a pack, or edits `pack` when given. The price is typed in major units, kept in minor. */
function PackForm({
  pack,
  onDone,
  onCancel,
}: {
  pack?: Pack;
  onDone: (pack: Pack) => void;
  onCancel?: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [name, setName] = useState(pack?.name ?? "");
  const [credits, setCredits] = useState(pack ? String(pack.credits) : "");
  const [currency, setCurrency] = useState(pack?.currency ?? "USD");
  const [price, setPrice] = useState(pack ? moneyInputValue(pack.priceMinor, pack.currency) : "");
  const [errors, setErrors] = useState<FormErrors<PackField>>(noErrors);
  const options = {
    onSettled: () => queryClient.invalidateQueries(trpc.credits.packs.pathFilter()),
  };
  const create = useMutation(trpc.credits.packs.create.mutationOptions(options));
  const update = useMutation(trpc.credits.packs.update.mutationOptions(options));
  const pending = create.isPending || update.isPending;
  const code = currency.trim().toUpperCase();
  const parsedPrice = parseMoneyInput(price, code);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const local: FormErrors<PackField> = { fields: {} };
    const amount = parseWholeCredits(credits);
    if (amount === undefined) local.fields.credits = "Enter a whole number of credits";
    if (!parsedPrice.ok) local.fields.priceMinor = parsedPrice.message;
    if (amount === undefined || !parsedPrice.ok) {
      setErrors(local);
      return;
    }
    setErrors(noErrors);
    const values = { name, credits: amount, priceMinor: parsedPrice.amountMinor, currency: code };
    try {
      const saved = pack
        ? await update.mutateAsync({ packId: pack.id, ...values })
        : await create.mutateAsync(values);
      if (!pack) {
        setName("");
        setCredits("");
        setPrice("");
      }
      onDone(saved);
    } catch (error) {
      setErrors(formErrorsOf(error, fields));
    }
  }

  return (
    <form
      onSubmit={submit}
      noValidate
      aria-label={pack ? `Edit ${pack.name}` : "New pack"}
      className="space-y-4"
    >
      {errors.form && <Alert tone="error">{errors.form}</Alert>}
      <div className="grid gap-4 sm:grid-cols-4">
        <InputField
          id={`${id}-name`}
          label="Name"
          error={errors.fields.name}
          value={name}
          placeholder="Starter"
          onChange={(event) => setName(event.target.value)}
        />
        <InputField
          id={`${id}-credits`}
          label="Credits"
          error={errors.fields.credits}
          inputMode="numeric"
          value={credits}
          placeholder="5000"
          className="tabular-nums"
          onChange={(event) => setCredits(event.target.value)}
        />
        <InputField
          id={`${id}-price`}
          label="Price"
          hint={
            parsedPrice.ok && price.trim() !== ""
              ? formatMoney(parsedPrice.amountMinor, code)
              : undefined
          }
          error={errors.fields.priceMinor}
          inputMode="decimal"
          value={price}
          placeholder="9.00"
          className="tabular-nums"
          onChange={(event) => setPrice(event.target.value)}
        />
        <InputField
          id={`${id}-currency`}
          label="Currency"
          error={errors.fields.currency}
          value={currency}
          maxLength={3}
          placeholder="USD"
          className="uppercase"
          onChange={(event) => setCurrency(event.target.value)}
        />
      </div>
      <div className="flex gap-2">
        <Button type="submit" pending={pending}>
          {pack ? "Save pack" : "Create pack"}
        </Button>
        {onCancel && (
          <Button variant="ghost" onClick={onCancel} disabled={pending}>
            Cancel
          </Button>
        )}
      </div>
    </form>
  );
}
