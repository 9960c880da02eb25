"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Fragment, useId, useState, type FormEvent, type ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Field, InputField, describedBy } from "@/components/ui/field";
import { Select } from "@/components/ui/input";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatCredits, formatDateTime, formatMoney } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import type { RouterInputs, RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import type { TierFeature } from "@/drizzle/schema";

type TierCode = RouterOutputs["tiers"]["all"][number];
type TierVersion = TierCode["versions"][number];
type Definition = RouterInputs["tiers"]["create"];

/** The feature flags, as the editor lists them (server/workspaces/tiers.ts has the rules). */
const featureFlags: { value: TierFeature; label: string }[] = [
  { value: "api_keys", label: "API keys" },
  { value: "webhooks", label: "Webhook endpoints" },
  { value: "transfers", label: "Credit transfers" },
  { value: "auto_top_up", label: "Auto top-up" },
  { value: "holds", label: "Holds on the metering API" },
];

const scalarFields = [
  "code",
  "name",
  "currency",
  "monthlyPriceMinor",
  "monthlyCredits",
  "signupBonusCredits",
  "lowBalanceThreshold",
  "includedSeats",
  "seatPriceMinor",
  "maxSeats",
  "overagePolicy",
  "overageCapCredits",
  "overageUnitCredits",
  "overageUnitPriceMinor",
  "rolloverCapCredits",
  "rolloverCapPercent",
  "rolloverExpiryPeriods",
  "apiRatePerSecond",
  "apiRateBurst",
] as const;
type Scalar = (typeof scalarFields)[number];

/** Numbers that may be left empty: "none" (no max seats, no rollover, the server's rate). */
const optional = new Set<Scalar>([
  "maxSeats",
  "rolloverCapCredits",
  "rolloverCapPercent",
  "apiRatePerSecond",
  "apiRateBurst",
]);

type PriceRow = Record<
  "featureCode" | "name" | "baseCredits" | "bytesPerUnit" | "creditsPerUnit" | "minimumCredits",
  string
>;
type QuotaRow = Record<"featureCode" | "period" | "maxCalls", string>;
type OtherPriceRow = Record<
  "currency" | "monthlyPriceMinor" | "seatPriceMinor" | "overageUnitPriceMinor",
  string
>;

interface Draft {
  scalars: Record<Scalar, string>;
  priceTable: PriceRow[];
  quotas: QuotaRow[];
  otherPrices: OtherPriceRow[];
  features: TierFeature[];
}

const text = (value: number | null | undefined) => (value == null ? "" : String(value));

function draftOf(tier?: TierVersion): Draft {
  const scalars = Object.fromEntries(scalarFields.map((field) => [field, ""])) as Record<
    Scalar,
    string
  >;
  if (!tier) {
    return {
      scalars: {
        ...scalars,
        currency: "USD",
        monthlyPriceMinor: "0",
        signupBonusCredits: "0",
        includedSeats: "1",
        seatPriceMinor: "0",
        overagePolicy: "hard_stop",
        overageCapCredits: "0",
        overageUnitCredits: "1000",
        overageUnitPriceMinor: "0",
        rolloverExpiryPeriods: "1",
      },
      priceTable: [
        {
          featureCode: "",
          name: "",
          baseCredits: "0",
          bytesPerUnit: "1024",
          creditsPerUnit: "1",
          minimumCredits: "1",
        },
      ],
      quotas: [],
      otherPrices: [],
      features: ["api_keys"],
    };
  }
  for (const field of scalarFields) {
    const value = tier[field as keyof TierVersion];
    scalars[field] = typeof value === "number" || value === null ? text(value) : String(value);
  }

  return {
    scalars,
    priceTable: tier.priceTable.map((row) => ({
      featureCode: row.featureCode,
      name: row.name,
      baseCredits: text(row.baseCredits),
      bytesPerUnit: text(row.bytesPerUnit),
      creditsPerUnit: text(row.creditsPerUnit),
      minimumCredits: text(row.minimumCredits),
    })),
    quotas: tier.quotas.map((quota) => ({
      featureCode: quota.featureCode,
      period: quota.period,
      maxCalls: text(quota.maxCalls),
    })),
    otherPrices: tier.otherPrices.map((price) => ({
      currency: price.currency,
      monthlyPriceMinor: text(price.monthlyPriceMinor),
      seatPriceMinor: text(price.seatPriceMinor),
      overageUnitPriceMinor: text(price.overageUnitPriceMinor),
    })),
    features: [...tier.features],
  };
}

/** A typed number: empty is NaN, which the server refuses with the field's own message. */
function number(value: string): number {
  return value.trim() === "" ? Number.NaN : Number(value.trim());
}

function definitionOf(draft: Draft): Definition {
  const s = draft.scalars;
  const numeric = (field: Scalar) =>
    optional.has(field) && s[field].trim() === "" ? null : number(s[field]);
  const rows = <Row extends Record<string, string>>(list: Row[], strings: (keyof Row)[]) =>
    list.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, value]) => [
          key,
          strings.includes(key) ? value.trim() : number(value),
        ]),
      ),
    );

  return {
    code: s.code.trim(),
    name: s.name,
    currency: s.currency.trim().toUpperCase(),
    monthlyPriceMinor: number(s.monthlyPriceMinor),
    monthlyCredits: number(s.monthlyCredits),
    signupBonusCredits: number(s.signupBonusCredits),
    lowBalanceThreshold: number(s.lowBalanceThreshold),
    includedSeats: number(s.includedSeats),
    seatPriceMinor: number(s.seatPriceMinor),
    maxSeats: numeric("maxSeats"),
    overagePolicy: s.overagePolicy as Definition["overagePolicy"],
    overageCapCredits: number(s.overageCapCredits),
    overageUnitCredits: number(s.overageUnitCredits),
    overageUnitPriceMinor: number(s.overageUnitPriceMinor),
    rolloverCapCredits: numeric("rolloverCapCredits"),
    rolloverCapPercent: numeric("rolloverCapPercent"),
    rolloverExpiryPeriods: number(s.rolloverExpiryPeriods),
    apiRatePerSecond: numeric("apiRatePerSecond"),
    apiRateBurst: numeric("apiRateBurst"),
    features: draft.features,
    priceTable: rows(draft.priceTable, ["featureCode", "name"]) as Definition["priceTable"],
    quotas: rows(draft.quotas, ["featureCode", "period"]) as Definition["quotas"],
    otherPrices: rows(draft.otherPrices, ["currency"]) as Definition["otherPrices"],
  };
}

/** Every field a server error can name, rows included: "priceTable.0.featureCode". */
function fieldNames(draft: Draft): string[] {
  const rowFields = (name: string, list: Record<string, string>[]) =>
    list.flatMap((row, index) => [
      `${name}.${index}`,
      ...Object.keys(row).map((key) => `${name}.${index}.${key}`),
    ]);

  return [
    ...scalarFields,
    "features",
    "priceTable",
    "quotas",
    "otherPrices",
    ...rowFields("priceTable", draft.priceTable),
    ...rowFields("quotas", draft.quotas),
    ...rowFields("otherPrices", draft.otherPrices),
  ];
}

function moneyHint(amount: string, currency: string): string | undefined {
  const minor = number(amount);
  if (!Number.isSafeInteger(minor) || !/^[A-Z]{3}$/.test(currency.trim().toUpperCase())) {
    return undefined;
  }
  try {
    return formatMoney(minor, currency.trim().toUpperCase());
  } catch {
    return undefined;
  }
}

/**
 * The tier editor for platform admins: every tier code with its versions and
 * how many workspaces are on each, and a form for a new tier or a new
 * version. A version is never edited: publishing makes the next one, which
 * new workspaces get, while workspaces on earlier versions keep theirs.
 */
export function TierEditor() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const catalogue = useQuery(trpc.tiers.all.queryOptions());
  const [editing, setEditing] = useState<{ code?: string; from?: TierVersion }>();
  const [open, setOpen] = useState<string>();
  const [notice, setNotice] = useState<{ ok: boolean; message: string }>();
  const archive = useMutation(
    trpc.tiers.archive.mutationOptions({
      onSuccess: (tier) =>
        setNotice({
          ok: true,
          message: tier.archivedAt
            ? `${tier.name} v${tier.version} is archived: offered to no new workspace.`
            : `${tier.name} v${tier.version} is offered again.`,
        }),
      onError: (error) => setNotice({ ok: false, message: error.message }),
      onSettled: () => queryClient.invalidateQueries(trpc.tiers.pathFilter()),
    }),
  );
  const rows = catalogue.data ?? [];

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title="Tiers"
          description={
            "New workspaces get the latest version of a tier that is not archived. A version in " +
            "use is never edited: publish a new one, and workspaces keep the version they are on."
          }
        />
        {notice && (
          <div className="px-5 pt-4">
            <Alert tone={notice.ok ? "success" : "error"}>{notice.message}</Alert>
          </div>
        )}
        <Table label="Tiers">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Tier</Th>
              <Th>Offered</Th>
              <Th align="right">Price</Th>
              <Th align="right">Credits / month</Th>
              <Th align="right">Versions</Th>
              <Th align="right">Workspaces</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={catalogue}
              colSpan={7}
              subject="the tiers"
              isEmpty={rows.length === 0}
              empty="No tiers yet. Create the first one below."
            />
            {rows.map((entry) => {
              const shown = entry.offered ?? entry.latest;
              return (
                <Fragment key={entry.code}>
                  <tr data-testid="tier-row" data-code={entry.code}>
                    <Td>
                      <div className="font-medium">{shown.name}</div>
                      <div className="font-mono text-xs text-slate-500">{entry.code}</div>
                    </Td>
                    <Td>
                      {entry.offered ? (
                        <Badge tone="green">v{entry.offered.version}</Badge>
                      ) : (
                        <Badge>None: all archived</Badge>
                      )}
                    </Td>
                    <Td numeric>{formatMoney(shown.monthlyPriceMinor, shown.currency)}</Td>
                    <Td numeric>{formatCredits(shown.monthlyCredits)}</Td>
                    <Td numeric data-testid="tier-version-count">
                      {entry.versions.length}
                    </Td>
                    <Td numeric>{formatCredits(entry.workspaceCount)}</Td>
                    <Td className="text-right whitespace-nowrap">
                      <div className="flex justify-end gap-2">
                        <Button
                          variant="ghost"
                          size="sm"
                          aria-expanded={open === entry.code}
                          onClick={() => setOpen(open === entry.code ? undefined : entry.code)}
                        >
                          {open === entry.code ? "Hide versions" : "Versions"}
                        </Button>
                        <Button
                          variant="secondary"
                          size="sm"
                          onClick={() => {
                            setNotice(undefined);
                            setEditing({ code: entry.code, from: entry.latest });
                          }}
                        >
                          New version
                        </Button>
                      </div>
                    </Td>
                  </tr>
                  {open === entry.code && (
                    <tr>
                      <td colSpan={7} className="bg-slate-50/60 px-5 py-3">
                        <VersionList
                          versions={entry.versions}
                          offeredId={entry.offered?.id}
                          pendingId={archive.isPending ? archive.variables?.tierId : undefined}
                          onArchive={(version, archived) =>
                            archive.mutate({ tierId: version.id, archived })
                          }
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </Table>
        <CardBody>
          <Button
            variant="secondary"
            onClick={() => {
              setNotice(undefined);
              setEditing({});
            }}
          >
            New tier
          </Button>
        </CardBody>
      </Card>
      {editing && (
        <TierForm
          key={`${editing.code ?? "new"}-${editing.from?.id ?? ""}`}
          code={editing.code}
          from={editing.from}
          onCancel={() => setEditing(undefined)}
          onDone={(saved) => {
            setEditing(undefined);
            setNotice({
              ok: true,
              message:
                saved.version === 1
                  ? `Tier ${saved.code} created.`
                  : `Version ${saved.version} of ${saved.code} published: new workspaces get it.`,
            });
          }}
        />
      )}
    </div>
  );
}

function VersionList({
  versions,
  offeredId,
  pendingId,
  onArchive,
}: {
  versions: TierVersion[];
  offeredId?: string;
  pendingId?: string;
  onArchive: (version: TierVersion, archived: boolean) => void;
}) {
  return (
    <ul className="divide-y divide-slate-200 text-sm" aria-label="Versions">
      {versions.map((version) => (
        <li
          key={version.id}
          data-testid="tier-version"
          className="flex items-center justify-between gap-4 py-2"
        >
          <span className="flex items-center gap-3">
            <span className="font-medium">v{version.version}</span>
            {version.id === offeredId ? (
              <Badge tone="green">Offered</Badge>
            ) : version.archivedAt ? (
              <Badge>Archived {formatDateTime(version.archivedAt)}</Badge>
            ) : (
              <Badge>Superseded</Badge>
            )}
            <span className="text-slate-600">
              {formatMoney(version.monthlyPriceMinor, version.currency)} ·{" "}
              {formatCredits(version.monthlyCredits)} credits ·{" "}
              {formatCredits(version.workspaceCount)} workspace
              {version.workspaceCount === 1 ? "" : "s"} · published{" "}
              {formatDateTime(version.createdAt)}
            </span>
          </span>
          <Button
            variant={version.archivedAt ? "secondary" : "danger"}
            size="sm"
            pending={pendingId === version.id}
            disabled={pendingId !== undefined}
            onClick={() => onArchive(version, !version.archivedAt)}
          >
            {version.archivedAt ? "Unarchive" : "Archive"}
          </Button>
        </li>
      ))}
    </ul>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <fieldset className="space-y-3">
      <legend className="text-sm font-semibold text-slate-900">{title}</legend>
      {children}
    </fieldset>
  );
}

/** A new tier (no `code`), or the next version of `code` prefilled from `from`. */
function TierForm({
  code,
  from,
  onDone,
  onCancel,
}: {
  code?: string;
  from?: TierVersion;
  onDone: (saved: { code: string; version: number }) => void;
  onCancel: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [draft, setDraft] = useState<Draft>(() => draftOf(from));
  const [errors, setErrors] = useState<FormErrors<string>>(noErrors);
  const options = { onSettled: () => queryClient.invalidateQueries(trpc.tiers.pathFilter()) };
  const create = useMutation(trpc.tiers.create.mutationOptions(options));
  const publish = useMutation(trpc.tiers.publishVersion.mutationOptions(options));
  const pending = create.isPending || publish.isPending;
  const s = draft.scalars;
  const error = (field: string) => errors.fields[field];

  const setScalar = (field: Scalar, value: string) =>
    setDraft((current) => ({ ...current, scalars: { ...current.scalars, [field]: value } }));

  function scalar(field: Scalar, label: string, hint?: ReactNode) {
    return (
      <InputField
        id={`${id}-${field}`}
        label={label}
        hint={hint}
        error={error(field)}
        value={s[field]}
        inputMode={field === "name" || field === "currency" ? undefined : "numeric"}
        placeholder={optional.has(field) ? "none" : undefined}
        onChange={(event) => setScalar(field, event.target.value)}
      />
    );
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    const definition = definitionOf(code ? { ...draft, scalars: { ...s, code } } : draft);
    try {
      const saved = code
        ? await publish.mutateAsync(definition)
        : await create.mutateAsync(definition);
      onDone(saved);
    } catch (caught) {
      setErrors(formErrorsOf(caught, fieldNames(draft)));
    }
  }

  const currency = s.currency;

  return (
    <Card>
      <CardHeader
        title={code ? `New version of ${from?.name ?? code}` : "New tier"}
        description={
          code
            ? `Prefilled from v${from?.version}. Publishing makes v${(from?.version ?? 0) + 1}; ` +
              "workspaces on earlier versions keep theirs."
            : "A new code at version 1, offered to new workspaces as soon as it is saved."
        }
      />
      <CardBody>
        <form
          onSubmit={submit}
          noValidate
          aria-label={code ? `New version of ${code}` : "New tier"}
          className="space-y-8"
        >
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <Section title="Basics">
            <div className="grid gap-4 sm:grid-cols-4">
              {!code && scalar("code", "Code", "Lowercase, e.g. team")}
              {scalar("name", "Name")}
              {scalar("currency", "Currency")}
              {scalar(
                "monthlyPriceMinor",
                "Monthly price (minor units)",
                moneyHint(s.monthlyPriceMinor, currency),
              )}
              {scalar("monthlyCredits", "Credits per month")}
              {scalar("signupBonusCredits", "Signup bonus (credits)")}
              {scalar("lowBalanceThreshold", "Low-balance threshold")}
            </div>
          </Section>
          <Section title="Seats">
            <div className="grid gap-4 sm:grid-cols-4">
              {scalar("includedSeats", "Included seats")}
              {scalar(
                "seatPriceMinor",
                "Price per extra seat (minor units)",
                moneyHint(s.seatPriceMinor, currency),
              )}
              {scalar("maxSeats", "Most seats", "Empty: no limit")}
            </div>
          </Section>
          <Section title="Overage">
            <div className="grid gap-4 sm:grid-cols-4">
              <Field id={`${id}-overagePolicy`} label="Policy" error={error("overagePolicy")}>
                <Select
                  id={`${id}-overagePolicy`}
                  value={s.overagePolicy}
                  invalid={Boolean(error("overagePolicy"))}
                  aria-describedby={describedBy(`${id}-overagePolicy`, error("overagePolicy"))}
                  onChange={(event) => setScalar("overagePolicy", event.target.value)}
                >
                  <option value="hard_stop">Hard stop</option>
                  <option value="soft_cap">Soft cap</option>
                  <option value="auto_top_up">Auto top-up</option>
                </Select>
              </Field>
              {scalar("overageCapCredits", "Overage cap (credits)")}
              {scalar("overageUnitCredits", "Overage unit (credits)")}
              {scalar(
                "overageUnitPriceMinor",
                "Price per unit (minor units)",
                moneyHint(s.overageUnitPriceMinor, currency),
              )}
            </div>
          </Section>
          <Section title="Rollover">
            <div className="grid gap-4 sm:grid-cols-4">
              {scalar("rolloverCapCredits", "Cap (credits)", "Empty: none")}
              {scalar("rolloverCapPercent", "Cap (% of allowance)", "Empty: none")}
              {scalar("rolloverExpiryPeriods", "Carried credits last (periods)")}
            </div>
          </Section>
          <Section title="Metering API rate">
            <div className="grid gap-4 sm:grid-cols-4">
              {scalar("apiRatePerSecond", "Requests per second", "Empty: the server's default")}
              {scalar("apiRateBurst", "Burst", "Empty: the server's default")}
            </div>
          </Section>
          <Section title="Features">
            <div className="flex flex-wrap gap-x-6 gap-y-2">
              {featureFlags.map((flag) => (
                <label key={flag.value} className="flex items-center gap-2 text-sm">
                  <input
                    type="checkbox"
                    className="size-4 rounded border-slate-300 text-indigo-600"
                    checked={draft.features.includes(flag.value)}
                    onChange={(event) =>
                      setDraft((current) => ({
                        ...current,
                        features: event.target.checked
                          ? [...current.features, flag.value]
                          : current.features.filter((feature) => feature !== flag.value),
                      }))
                    }
                  />
                  {flag.label}
                </label>
              ))}
            </div>
            {error("features") && (
              <p className="text-sm text-red-600" role="alert">
                {error("features")}
              </p>
            )}
          </Section>
          <RowsSection
            title="Price table"
            name="priceTable"
            rows={draft.priceTable}
            columns={[
              ["featureCode", "Feature code"],
              ["name", "Name"],
              ["baseCredits", "Base credits"],
              ["bytesPerUnit", "Bytes per unit"],
              ["creditsPerUnit", "Credits per unit"],
              ["minimumCredits", "Minimum credits"],
            ]}
            blank={{
              featureCode: "",
              name: "",
              baseCredits: "0",
              bytesPerUnit: "1024",
              creditsPerUnit: "1",
              minimumCredits: "1",
            }}
            error={error}
            onChange={(priceTable) => setDraft((current) => ({ ...current, priceTable }))}
          />
          <RowsSection
            title="Quotas"
            name="quotas"
            rows={draft.quotas}
            columns={[
              ["featureCode", "Feature code"],
              ["period", "Period (day or month)"],
              ["maxCalls", "Most calls"],
            ]}
            blank={{ featureCode: "", period: "month", maxCalls: "" }}
            error={error}
            onChange={(quotas) => setDraft((current) => ({ ...current, quotas }))}
          />
          <RowsSection
            title="Prices in other currencies (minor units)"
            name="otherPrices"
            rows={draft.otherPrices}
            columns={[
              ["currency", "Currency"],
              ["monthlyPriceMinor", "Monthly price"],
              ["seatPriceMinor", "Price per extra seat"],
              ["overageUnitPriceMinor", "Overage price per unit"],
            ]}
            blank={{
              currency: "",
              monthlyPriceMinor: "",
              seatPriceMinor: "0",
              overageUnitPriceMinor: "0",
            }}
            error={error}
            onChange={(otherPrices) => setDraft((current) => ({ ...current, otherPrices }))}
          />
          <div className="flex gap-2">
            <Button type="submit" pending={pending}>
              {code ? `Publish v${(from?.version ?? 0) + 1}` : "Create tier"}
            </Button>
            <Button variant="ghost" onClick={onCancel} disabled={pending}>
              Cancel
            </Button>
          </div>
        </form>
      </CardBody>
    </Card>
  );
}

/** Rows of one list field (price table, quotas, other prices), each cell with its own error. */
function RowsSection<Row extends Record<string, string>>({
  title,
  name,
  rows,
  columns,
  blank,
  error,
  onChange,
}: {
  title: string;
  name: string;
  rows: Row[];
  columns: [keyof Row & string, string][];
  blank: Row;
  error: (field: string) => string | undefined;
  onChange: (rows: Row[]) => void;
}) {
  const id = useId();

  return (
    <Section title={title}>
      {error(name) && (
        <p className="text-sm text-red-600" role="alert">
          {error(name)}
        </p>
      )}
      {rows.length === 0 && <p className="text-sm text-slate-500">None.</p>}
      {rows.map((row, index) => (
        <div
          key={index}
          data-testid={`${name}-row`}
          className="grid items-start gap-3"
          style={{ gridTemplateColumns: `repeat(${columns.length}, minmax(0, 1fr)) auto` }}
        >
          {columns.map(([column, label]) => (
            <InputField
              key={column}
              id={`${id}-${index}-${column}`}
              label={
                <>
                  {label}
                  <span className="sr-only"> (row {index + 1})</span>
                </>
              }
              error={error(`${name}.${index}.${column}`) ?? undefined}
              value={row[column]}
              onChange={(event) =>
                onChange(
                  rows.map((other, at) =>
                    at === index ? { ...other, [column]: event.target.value } : other,
                  ),
                )
              }
            />
          ))}
          <Button
            variant="ghost"
            size="sm"
            className="mt-7"
            aria-label={`Remove row ${index + 1} of ${title.toLowerCase()}`}
            onClick={() => onChange(rows.filter((_, at) => at !== index))}
          >
            Remove
          </Button>
        </div>
      ))}
      <Button variant="secondary" size="sm" onClick={() => onChange([...rows, { ...blank }])}>
        Add a row
      </Button>
    </Section>
  );
}
