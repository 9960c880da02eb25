import { expect, test } from "@playwright/test";

import { admin, customer, signedIn, snap } from "./support";

/**
 * A platform admin opens the reconciliation page from the admin tabs, runs
 * the comparison with the gateway now and sees the run listed; the customer
 * is refused. Everything the demo did went through the webhooks, so the run
 * finds no drift to show (server/payments/reconciliation.test.ts seeds drift).
 */

test("an admin runs the reconciliation now and sees the run", async ({ browser }, testInfo) => {
  const page = await signedIn(browser, admin);

  await test.step("the admin tabs lead to the page", async () => {
    await page.goto("/admin");
    await page
      .getByRole("navigation", { name: "Admin" })
      .getByRole("link", { name: "Reconciliation" })
      .click();
    await expect(page).toHaveURL(/\/admin\/reconciliation$/);
    await expect(page.getByRole("heading", { name: "Reconciliation", level: 1 })).toBeVisible();
  });

  await test.step("Run now compares and lists the run", async () => {
    await page.getByRole("button", { name: "Run now" }).click();
    await expect(page.getByRole("status")).toContainText(
      /Compared \d+ objects; \d+ new drift|already covers everything/,
    );
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("reconciliation-run").first()).toBeVisible({ timeout: 2000 });
    }).toPass();
    await expect(page.getByLabel("Status")).toHaveValue("open");
    await snap(page, testInfo, "admin-reconciliation");
  });

  await test.step("it fits a phone's width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await expect(page.getByTestId("reconciliation-run").first()).toBeVisible();
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: document.documentElement.clientWidth,
    }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    await snap(page, testInfo, "admin-reconciliation-narrow");
  });

  await test.step("a customer is refused", async () => {
    const other = await signedIn(browser, customer);
    await other.goto("/admin/reconciliation");
    await expect(other.getByText("Platform administrators only")).toBeVisible();
  });
});
