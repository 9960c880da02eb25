import { expect, test } from "@playwright/test";

import { admin, customer, signIn, signedIn, snap } from "./support";

/**
 * A credit purchase seen from both sides: the customer pays through the
 * simulated checkout and finds the payment in the billing page's history; a
 * platform admin finds it among the payments, disputes it as the bank would,
 * watches the credits clawed back, and closes the dispute as won.
 */
test("a purchase's payment, disputed and won, from the admin payment pages", async ({
  page,
  browser,
}, testInfo) => {
  // Two people, a checkout and four webhook round trips: longer than one page's journey.
  test.setTimeout(180_000);
  await signIn(page, customer);
  await page.goto("/w/demo/credits");
  const pack = page.getByTestId("credit-pack").filter({ hasText: "Starter" });
  await pack.getByRole("button", { name: /^Buy Starter/ }).click();
  await expect(page).toHaveURL(/\/checkout\/simulated\//);
  await page.getByRole("radio", { name: /4242 4242 4242 4242/ }).check();
  await page.getByRole("button", { name: /^Pay/ }).click();
  await expect(page).toHaveURL(/\/w\/demo\/credits/);

  await page.goto("/w/demo/billing");
  const history = page.getByRole("table", { name: "Payments" });
  await expect(async () => {
    await page.reload();
    await expect(
      history.getByTestId("payment-row").filter({ hasText: "Starter" }).first(),
    ).toBeVisible({ timeout: 2000 });
  }).toPass();
  await snap(page, testInfo, "payment-history");

  const adminPage = await signedIn(browser, admin);
  await adminPage.goto("/admin/payments?workspace=demo&kind=purchase");
  const rows = adminPage.getByTestId("admin-payment-row");
  await expect(async () => {
    await adminPage.reload();
    await expect(rows.filter({ hasText: "Starter" }).first()).toBeVisible({ timeout: 2000 });
  }).toPass();
  await expect(adminPage.getByTestId("payment-totals")).toContainText("USD");
  await snap(adminPage, testInfo, "admin-payments");

  // The newest Starter payment that is not disputed yet: the one just made.
  const fresh = rows.filter({ hasText: "Starter" }).filter({ hasNotText: "Disputed" }).first();
  await fresh.getByRole("link").first().click();
  await expect(adminPage).toHaveURL(/\/admin\/payments\/[0-9a-f-]{36}$/);
  await expect(adminPage.getByTestId("payment-status")).toHaveText("Succeeded");
  await adminPage.getByRole("button", { name: "Simulate dispute" }).click();
  const disputes = adminPage.getByRole("table", { name: "Disputes" });
  await expect(async () => {
    await adminPage.reload();
    await expect(disputes.getByTestId("dispute-row")).toHaveCount(1, { timeout: 2000 });
  }).toPass();
  await expect(disputes.getByTestId("dispute-row")).toContainText("5,000");
  await snap(adminPage, testInfo, "admin-payment-disputed");

  await disputes.getByTestId("dispute-row").getByRole("link").click();
  await expect(adminPage).toHaveURL(/\/admin\/disputes\/[0-9a-f-]{36}$/);
  await expect(adminPage.getByTestId("dispute-outcome")).toHaveText("Open");
  await adminPage.getByRole("button", { name: "Close as won" }).click();
  await expect(async () => {
    await adminPage.reload();
    await expect(adminPage.getByTestId("dispute-outcome")).toHaveText("Won", { timeout: 2000 });
  }).toPass();
  await snap(adminPage, testInfo, "admin-dispute-won");

  await adminPage.goto("/admin/disputes?outcome=won&workspace=demo");
  await expect(async () => {
    await adminPage.reload();
    await expect(adminPage.getByTestId("dispute-row").first()).toBeVisible({ timeout: 2000 });
  }).toPass();
  await adminPage.goto("/admin/refunds");
  await expect(adminPage.getByRole("heading", { name: "All refunds" })).toBeVisible();

  await adminPage.setViewportSize({ width: 390, height: 844 });
  for (const path of ["/admin/payments", "/admin/refunds", "/admin/disputes"]) {
    await adminPage.goto(path);
    await expect(adminPage.getByRole("navigation", { name: "Admin" })).toBeVisible();
    const overflow = await adminPage.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow, `${path} scrolls sideways at 390 px`).toBe(0);
  }
});
