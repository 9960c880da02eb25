"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Field, describedBy } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";
import { formatBytes, formatCredits } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { canConsume } from "@/components/lib/roles";
import type { RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { MAX_INPUT_BYTES, priceCall } from "@/server/credits/pricing";

import { DisabledReason, readOnlyReason } from "./read-only";

const fields = ["featureCode", "inputBytes"] as const;
type ConsumeField = (typeof fields)[number];
type FeaturePrice = Workspace["tier"]["priceTable"][number];
type ConsumeResult = RouterOutputs["credits"]["consume"];

function resultSummary(result: ConsumeResult): string {
  const units = `${formatCredits(result.units)} ${result.units === 1 ? "unit" : "units"}`;

  return (
    `credits for ${units} of ${result.featureCode}. ` +
    `The balance is now ${formatCredits(result.balance)}.`
  );
}

function describePrice(price: FeaturePrice): string {
  return (
    `${formatCredits(price.baseCredits)} + ${formatCredits(price.creditsPerUnit)} per ` +
    `${formatBytes(price.bytesPerUnit)} started, at least ${formatCredits(price.minimumCredits)}`
  );
}

export function TryFeatureForm({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const features = workspace.tier.priceTable;
  const [featureCode, setFeatureCode] = useState(features[0]?.featureCode ?? "");
  const [inputBytes, setInputBytes] = useState("2048");
  const [errors, setErrors] = useState<FormErrors<ConsumeField>>(noErrors);
  const [result, setResult] = useState<ConsumeResult>();
  const consume = useMutation(
    trpc.credits.consume.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.credits.pathFilter()),
    }),
  );

  const feature = features.find((price) => price.featureCode === featureCode);
  const bytes = Number(inputBytes);
  const validBytes =
    inputBytes.trim() !== "" &&
    Number.isSafeInteger(bytes) &&
    bytes >= 0 &&
    bytes <= MAX_INPUT_BYTES;
  const unavailable = canConsume(workspace.role)
    ? readOnlyReason(workspace, "Running features is")
    : "Running features needs the member role or higher; viewers only look.";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setResult(undefined);
    if (inputBytes.trim() === "" || !Number.isFinite(bytes)) {
      setErrors({ fields: { inputBytes: "Enter the input size in bytes, e.g. 2048" } });
      return;
    }
    setErrors(noErrors);
    try {
      setResult(
        await consume.mutateAsync({
          workspaceId: workspace.workspaceId,
          featureCode,
          inputBytes: bytes,
          // A fresh key per submit: a retry of this request is not charged twice, a new submit is.
          idempotencyKey: crypto.randomUUID(),
        }),
      );
    } catch (error) {
      setErrors(formErrorsOf(error, fields));
    }
  }

  return (
    <Card className="h-full">
      <CardHeader
        title="Try a feature"
        description="Consume credits from the portal exactly as your service would through the API."
      />
      <CardBody>
        <form onSubmit={submit} className="space-y-4" noValidate>
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <div className="grid gap-4 sm:grid-cols-2">
            <Field id="feature-code" label="Feature" error={errors.fields.featureCode}>
              <Select
                id="feature-code"
                name="featureCode"
                value={featureCode}
                invalid={Boolean(errors.fields.featureCode)}
                aria-describedby={describedBy("feature-code", errors.fields.featureCode)}
                onChange={(event) => setFeatureCode(event.target.value)}
              >
                {features.map((price) => (
                  <option key={price.featureCode} value={price.featureCode}>
                    {price.name} ({price.featureCode})
                  </option>
                ))}
              </Select>
            </Field>
            <Field
              id="input-bytes"
              label="Input size (bytes)"
              hint={validBytes ? formatBytes(bytes) : undefined}
              error={errors.fields.inputBytes}
            >
              <Input
                id="input-bytes"
                name="inputBytes"
                type="number"
                inputMode="numeric"
                min={0}
                step={1}
                value={inputBytes}
                className="tabular-nums"
                invalid={Boolean(errors.fields.inputBytes)}
                aria-describedby={describedBy("input-bytes", errors.fields.inputBytes, validBytes)}
                onChange={(event) => setInputBytes(event.target.value)}
              />
            </Field>
          </div>
          <div
            className={cn(
              "flex flex-wrap items-center justify-between gap-3",
              "border-t border-slate-100 pt-4",
            )}
          >
            <p className="text-sm text-slate-500">
              {feature && validBytes ? (
                <>
                  Estimated cost:{" "}
                  <span className="font-medium text-slate-800 tabular-nums">
                    {formatCredits(priceCall(feature, bytes).credits)} credits
                  </span>
                </>
              ) : (
                " "
              )}
            </p>
            <Button
              type="submit"
              pending={consume.isPending}
              disabled={unavailable !== undefined || !feature}
              aria-describedby={unavailable ? "run-feature-unavailable" : undefined}
            >
              Run feature
            </Button>
          </div>
          <DisabledReason id="run-feature-unavailable" reason={unavailable} />
          {result && (
            <Alert tone="success" title="Done" className="tabular-nums">
              <span data-testid="consume-result">
                Charged{" "}
                <strong data-testid="charged-credits">{formatCredits(result.credits)}</strong>{" "}
                {resultSummary(result)}
              </span>
            </Alert>
          )}
        </form>
        <PriceList tierName={workspace.tier.name} features={features} />
      </CardBody>
    </Card>
  );
}

function PriceList({
  tierName,
  features,
}: {
  tierName: string;
  features: readonly FeaturePrice[];
}) {
  return (
    <div className="mt-5 rounded-md bg-slate-50 px-4 py-3">
      <h3 className="text-xs font-medium tracking-wide text-slate-500 uppercase">
        Prices on the {tierName} tier
      </h3>
      <ul className="mt-2 space-y-1 text-sm">
        {features.map((price) => (
          <li key={price.featureCode} className="flex flex-wrap justify-between gap-x-4">
            <span className="text-slate-700">{price.name}</span>
            <span className="text-slate-500 tabular-nums">{describePrice(price)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
