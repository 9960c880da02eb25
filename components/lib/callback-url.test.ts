import { describe, expect, it } from "vitest";

import { safeCallbackUrl } from "./callback-url";

describe("safeCallbackUrl", () => {
  it.each(["/w/demo", "/w/demo/api-keys?tab=1#new", "/"])("keeps the same-site path %s", (path) => {
    expect(safeCallbackUrl(path)).toBe(path);
  });

  it.each([
    "//evil.example/x",
    "/\\evil.example",
    "/\t/evil.example/tab",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "/..//evil.example",
    "/.//evil.example",
    "/%2e//evil.example",
    "/%2e%2e//evil.example",
    "/a/..//evil.example",
    "/./\\evil.example",
    "/..\\/evil.example",
    "evil.example",
    "",
  ])("refuses %j", (value) => {
    expect(safeCallbackUrl(value, "/fallback")).toBe("/fallback");
  });

  it("takes the first of repeated parameters", () => {
    expect(safeCallbackUrl(["/a", "//evil.example"])).toBe("/a");
  });
});
