import { expect, test } from "@playwright/test";

import { customer, signIn, snap } from "./support";

/**
 * The billing page as the demo customer (owner of `demo`) opens it. Other
 * journeys in the same database may have issued invoices by now, so every
 * invoice row shown is checked rather than a count.
 */
test("the billing page shows the plan, the next invoice, the card and the invoices", async ({
  page,
}, testInfo) => {
  await signIn(page, customer);
  await page.goto("/w/demo");
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Billing" })
    .click();
  await expect(page).toHaveURL(/\/w\/demo\/billing$/);

  for (const heading of ["Current plan", "Upcoming invoice", "Payment method", "Invoices"]) {
    await expect(page.getByRole("heading", { name: heading, exact: true })).toBeVisible();
  }
  await expect(page.getByTestId("current-plan")).toContainText("Pro");
  await expect(page.getByTestId("payment-method")).toHaveText(/No card saved|ending/);

  const invoices = page.getByRole("table", { name: "Invoices" });
  await expect(invoices.getByText(/No invoices yet\.|INV-\d{4}-\d{6}/).first()).toBeVisible();
  await snap(page, testInfo, "billing-page");

  const rows = invoices.getByTestId("invoice-row");
  for (let index = 0; index < (await rows.count()); index++) {
    const pdf = rows.nth(index).getByRole("link", { name: "PDF" });
    const response = await page.request.get((await pdf.getAttribute("href"))!);
    expect(response.status()).toBe(200);
    expect(response.headers()["content-type"]).toBe("application/pdf");
  }
});
