import { readFile } from "node:fs/promises";

import { expect, test } from "@playwright/test";

import { admin, customer, signedIn, snap } from "./support";

/**
 * Time travel and the invoice it brings. The journeys' server runs with
 * TALLY_TIME_TRAVEL=1 (playwright.config.ts), so a platform admin can move
 * the clock; the demo workspace (README) is on Pro, $49 a month, and its
 * period ends first, since the seed made it before any journey ran.
 *
 * The clock only moves forward: journeys that run after this one see a
 * platform clock ahead of real time, and the demo workspace in its next
 * period.
 */

test("a platform admin moves the clock forward an hour", async ({ browser }, testInfo) => {
  const page = await signedIn(browser, admin);
  await page.goto("/admin/clock");
  await expect(page.getByText("Time travel on")).toBeVisible();
  await expect(page.getByTestId("platform-time")).toHaveText(
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
  );
  const before = Date.parse(
    (await page.getByTestId("platform-time").textContent())!.replace(" UTC", "Z").replace(" ", "T"),
  );

  await page.getByRole("button", { name: "Advance 1 hour" }).click();
  await expect(page.getByTestId("clock-result")).toContainText(
    "Advance 1 hour: the platform clock",
  );
  const after = Date.parse(
    (await page.getByTestId("platform-time").textContent())!.replace(" UTC", "Z").replace(" ", "T"),
  );
  expect(after - before).toBeGreaterThanOrEqual(3_600_000);
  await expect(page.getByTestId("clock-offset")).toHaveText(/^\+(\d+d )?\d+h/);
  await snap(page, testInfo, "admin-clock");
});

test("an admin advances past the demo's period end; the customer sees the new invoice and its PDF", async ({
  browser,
}, testInfo) => {
  const adminPage = await signedIn(browser, admin);
  const owner = await signedIn(browser, customer);

  // The demo's first period was invoiced when it was seeded: the renewal adds one more row.
  const invoiceRows = owner
    .getByRole("table", { name: "Invoices" })
    .getByRole("row")
    .filter({ hasText: /INV-\d{4}-\d{6}/ });
  // Its first period's invoice, issued by a reaction when the demo was seeded.
  await owner.goto("/w/demo/billing");
  await expect(async () => {
    await owner.reload();
    await expect(invoiceRows).toHaveCount(1, { timeout: 2_000 });
  }).toPass({ timeout: 30_000 });

  await test.step("the admin sees the demo workspace renew next and moves the clock past it", async () => {
    await adminPage.goto("/admin/clock");
    const next = adminPage.getByTestId("upcoming-period-end").first();
    await expect(next).toContainText("Demo Workspace");
    await adminPage.getByRole("button", { name: "Advance to next period end" }).click();
    await expect(adminPage.getByTestId("clock-result")).toContainText(
      "Advance to next period end: the platform clock",
    );
    await snap(adminPage, testInfo, "admin-clock-advanced");
  });

  const number =
    await test.step("the customer's billing page lists the new invoice, with money due", async () => {
      await owner.goto("/w/demo/billing");
      const row = invoiceRows;
      // The renewal runs through the cycle's reactions within seconds of the move.
      await expect(async () => {
        await owner.reload();
        await expect(row).toHaveCount(2, { timeout: 2_000 });
      }).toPass({ timeout: 45_000 });
      await expect(row.first()).toContainText(/Open|Paid/);
      await expect(row.first()).toContainText("$49.00");
      await snap(owner, testInfo, "billing-page-invoice");

      return /INV-\d{4}-\d{6}/.exec((await row.first().textContent()) ?? "")![0];
    });

  await test.step("its PDF downloads as a PDF named after the invoice", async () => {
    const row = owner.getByRole("row").filter({ hasText: number });
    const link = row.getByRole("link", { name: "PDF" });
    const href = await link.getAttribute("href");
    expect(href).toMatch(/^\/api\/invoices\/[0-9a-f-]{36}\/pdf$/);

    const response = await owner.request.get(href!);
    expect(response.status()).toBe(200);
    expect(response.headers()["content-type"]).toContain("application/pdf");
    expect(response.headers()["content-disposition"]).toContain(`filename="${number}.pdf"`);

    const [download] = await Promise.all([owner.waitForEvent("download"), link.click()]);
    expect(download.suggestedFilename()).toBe(`${number}.pdf`);
    const bytes = await readFile((await download.path())!);
    expect(bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
  });

  await test.step("the admin finds the invoice in the list and opens it", async () => {
    await adminPage.goto(`/admin/invoices?number=${number}`);
    await adminPage.getByRole("link", { name: number }).click();
    await expect(adminPage).toHaveURL(/\/admin\/invoices\/[0-9a-f-]{36}$/);
    await expect(adminPage.getByRole("heading", { name: number })).toBeVisible();
    await expect(adminPage.getByTestId("invoice-line").first()).toContainText("$49.00");
    await expect(adminPage.getByRole("table", { name: "Invoice events" })).toContainText(
      "billing/invoice-generated",
    );
    await snap(adminPage, testInfo, "admin-invoice");
  });
});
