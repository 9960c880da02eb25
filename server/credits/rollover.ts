/**
 * How much unused allowance carries into the next period. Pure; see
 * credits/periods.ts for where it runs.
 *
 * - Only the period's own allowance rolls over. Purchased, bonus and
 *   promotional credits keep their own expiry and are never touched.
 * - The cap bounds the carried credits a workspace holds at once: credits
 *   carried earlier and still live count against it.
 * - The cap is `capCredits` when set, otherwise `capPercent` of the
 *   allowance rounded down to a whole credit; with neither, nothing rolls
 *   over.
 *
 * Example: allowance 1,000, 600 used, cap 2,000, nothing carried before:
 * 400 roll over and the next period opens with 1,400.
 */
export interface RolloverPolicy {
  capCredits: number | null;
  capPercent: number | null;
}

export function rolloverCap(allowance: number, policy: RolloverPolicy): number {
  if (policy.capCredits !== null) return Math.max(0, policy.capCredits);
  if (policy.capPercent !== null) {
    // Integer arithmetic: floor(allowance * percent / 100) without a float.
    return Math.max(0, Math.floor((allowance * policy.capPercent) / 100));
  }

  return 0;
}

export interface RolloverInput extends RolloverPolicy {
  allowance: number;
  /** Allowance of the ending period that was not used. */
  unused: number;
  /** Carried credits from earlier periods still live when this one ends. */
  carriedLive: number;
}

export interface RolloverOutcome {
  cap: number;
  rolled: number;
  forfeited: number;
  /** Why the figure is what it is, in words a customer reads. */
  explanation: string;
}

export function rolloverOf(input: RolloverInput): RolloverOutcome {
  for (const [name, value] of Object.entries({
    allowance: input.allowance,
    unused: input.unused,
    carriedLive: input.carriedLive,
  })) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`${name} must be a whole number of credits, at least 0`);
    }
  }
  const cap = rolloverCap(input.allowance, input);
  const room = Math.max(0, cap - input.carriedLive);
  const rolled = Math.min(input.unused, room);
  const forfeited = input.unused - rolled;
  const n = (value: number) => value.toLocaleString("en-US");

  let explanation: string;
  if (cap === 0) explanation = "This tier does not carry unused credits over.";
  else if (input.unused === 0) explanation = "The whole allowance is used; nothing carries over.";
  else if (forfeited === 0) {
    explanation = `All ${n(input.unused)} unused credits carry over (cap ${n(cap)}).`;
  } else if (rolled === 0) {
    explanation =
      `The ${n(input.carriedLive)} credits already carried over fill the cap of ${n(cap)}; ` +
      `the ${n(input.unused)} unused credits expire.`;
  } else {
    explanation =
      `${n(rolled)} of ${n(input.unused)} unused credits carry over: the cap is ${n(cap)}` +
      (input.carriedLive > 0 ? ` and ${n(input.carriedLive)} are already carried over` : "") +
      `; ${n(forfeited)} expire.`;
  }

  return { cap, rolled, forfeited, explanation };
}
