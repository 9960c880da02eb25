import { expect, test, type Page } from "@playwright/test";

import { admin, customer, signIn } from "./support";

/**
 * At a phone's width (390px) the pages fit: wide tables and the admin tabs
 * scroll inside their own boxes, so the page itself never scrolls sideways.
 */
test.use({ viewport: { width: 390, height: 844 } });

async function expectNoSidewaysScroll(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator("main h1").first()).toBeVisible();
  // The tables fill in after the page's queries answer.
  await page.waitForLoadState("networkidle");
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
  }));
  expect(widths.page, `${path} is wider than the screen`).toBeLessThanOrEqual(widths.viewport);
}

test("the billing page fits a phone's width", async ({ page }) => {
  await signIn(page, customer);
  await expectNoSidewaysScroll(page, "/w/demo/billing");
});

test("the admin invoice and clock pages fit a phone's width", async ({ page }) => {
  await signIn(page, admin);
  await expectNoSidewaysScroll(page, "/admin/clock");
  await expectNoSidewaysScroll(page, "/admin/invoices");
  await expectNoSidewaysScroll(page, "/admin/dunning?status=all");
  // The demo workspace's first-period invoice is always there (it starts on Pro).
  const first = page.locator('a[href^="/admin/invoices/"]').first();
  await expect(first).toBeVisible();
  await expectNoSidewaysScroll(page, (await first.getAttribute("href"))!);
});
