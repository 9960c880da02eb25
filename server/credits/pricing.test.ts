import { describe, expect, it } from "vitest";

import type { FeaturePrice } from "@/drizzle/schema";

import { MAX_INPUT_BYTES, priceCall } from "./pricing";

const summarize: FeaturePrice = {
  featureCode: "summarize",
  name: "Summarize",
  baseCredits: 1,
  bytesPerUnit: 1024,
  creditsPerUnit: 1,
  minimumCredits: 1,
};

describe("priceCall", () => {
  it.each([
    [0, 0, 1],
    [1, 1, 2],
    [1023, 1, 2],
    [1024, 1, 2],
    [1025, 2, 3],
    [4096, 4, 5],
  ])("%i bytes → %i units, %i credits (partial units round up)", (bytes, units, credits) => {
    expect(priceCall(summarize, bytes)).toEqual({ featureCode: "summarize", units, credits });
  });

  it("never charges less than the minimum", () => {
    const image = { ...summarize, baseCredits: 0, creditsPerUnit: 1, minimumCredits: 20 };
    expect(priceCall(image, 1).credits).toBe(20);
    expect(priceCall(image, 25 * 1024).credits).toBe(25);
  });

  it("stays exact at the largest input", () => {
    const perByte = { ...summarize, bytesPerUnit: 1, baseCredits: 0 };
    expect(priceCall(perByte, MAX_INPUT_BYTES).units).toBe(MAX_INPUT_BYTES);
    const huge = { ...summarize, bytesPerUnit: 3 };
    expect(priceCall(huge, MAX_INPUT_BYTES).units).toBe(Math.ceil(MAX_INPUT_BYTES / 3));
  });

  it.each([-1, 1.5, Number.NaN, MAX_INPUT_BYTES + 1])("refuses %s bytes", (bytes) => {
    expect(() => priceCall(summarize, bytes)).toThrow(RangeError);
  });
});
