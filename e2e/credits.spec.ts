import { randomBytes } from "node:crypto";

import { expect, test } from "@playwright/test";

import { customer, signIn, snap } from "./support";

/**
 * The credits page as the demo customer uses it (README: customer@example.com
 * owns the Pro workspace `demo`). Each test reads what it needs before it
 * acts and checks differences, so the tests pass in any order and beside
 * the other journeys in the same database.
 */

function uniqueId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

function credits(text: string | null): number {
  return Number((text ?? "").replace(/[^0-9-]/g, ""));
}

test("buy a credit pack through the simulated checkout and see its grant", async ({
  page,
}, testInfo) => {
  await signIn(page, customer);

  const before = await test.step("open the credits page from the navigation", async () => {
    await page.goto("/w/demo");
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Credits" })
      .click();
    await expect(page).toHaveURL(/\/w\/demo\/credits$/);
    await expect(page.getByTestId("credits-balance")).toHaveText(/\d/);
    await expect(page.getByTestId("credit-pack").first()).toBeVisible();
    await snap(page, testInfo, "credits-before-purchase");

    return {
      balance: credits(await page.getByTestId("credits-balance").textContent()),
      purchaseGrants: await page
        .getByTestId("credit-grant")
        .filter({ hasText: "Purchase" })
        .count(),
    };
  });

  const pack = page.getByTestId("credit-pack").filter({ hasText: "Starter" });
  const packCredits = credits(await pack.getByTestId("pack-credits").textContent());
  expect(packCredits).toBeGreaterThan(0);

  await test.step("a card without the funds is declined beside the form", async () => {
    await pack.getByRole("button", { name: /^Buy Starter/ }).click();
    await expect(page).toHaveURL(/\/checkout\/simulated\//);
    await expect(page.getByRole("radio")).toHaveCount(4);
    await snap(page, testInfo, "simulated-checkout");
    await page.getByRole("radio", { name: /4000 0000 0000 9995/ }).check();
    await page.getByRole("button", { name: /^Pay/ }).click();
    await expect(page.getByText("Payment declined")).toBeVisible();
    await expect(page.getByText(/Your card has insufficient funds\./)).toBeVisible();
    await snap(page, testInfo, "simulated-checkout-declined");
  });

  await test.step("pay with the test card that succeeds", async () => {
    await page.getByRole("radio", { name: /4242 4242 4242 4242/ }).check();
    await page.getByRole("button", { name: /^Pay/ }).click();
  });

  await test.step("back on the credits page, the grant is in the breakdown", async () => {
    await expect(page).toHaveURL(/\/w\/demo\/credits\?purchase=[0-9a-f-]{36}/);
    await expect(page.getByTestId("purchase-return")).toContainText("Payment received");
    await expect(page.getByTestId("credits-balance")).toHaveText(
      new RegExp(`^${(before.balance + packCredits).toLocaleString("en-US")}\\s*credits$`),
    );
    const purchaseGrants = page.getByTestId("credit-grant").filter({ hasText: "Purchase" });
    await expect(purchaseGrants).toHaveCount(before.purchaseGrants + 1);
    await expect(purchaseGrants.filter({ hasText: "never expires" }).first()).toBeVisible();
    const row = page.getByTestId("purchase-row").first();
    await expect(row).toContainText("Starter");
    await expect(row).toContainText("Paid");
    await expect(page.getByTestId("history-entry").first()).toContainText(
      `+${packCredits.toLocaleString("en-US")}`,
    );
    await snap(page, testInfo, "credits-after-purchase");
  });
});

test("consuming past the low-balance threshold raises exactly one notice", async ({
  page,
}, testInfo) => {
  const name = `Low balance ${uniqueId()}`;
  await signIn(page, customer);

  await test.step("a fresh Free workspace of the demo customer: 1,250 credits", async () => {
    await page.goto("/workspaces/new");
    await expect(page.getByRole("button", { name: "Create workspace" })).toBeEnabled();
    await page.getByLabel("Workspace name").fill(name);
    await expect(page.getByRole("radio", { name: /Free/ })).toBeChecked();
    await page.getByRole("button", { name: "Create workspace" }).click();
    await expect(page).toHaveURL(/\/w\/low-balance-[a-z0-9-]+$/);
    await expect(page.getByTestId("balance")).toContainText("1,250");
  });

  const lowNotices = async () => {
    await page.getByRole("button", { name: /^Notifications/ }).click();
    const panel = page.getByRole("dialog", { name: "Notifications" });
    await expect(panel.getByText("Loading…")).toHaveCount(0);
    const items = panel
      .getByRole("listitem")
      .filter({ hasText: "Credits are running low" })
      .filter({ hasText: name });
    const count = await items.count();
    await page.getByRole("button", { name: /^Notifications/ }).click();

    return count;
  };

  await test.step("one call takes the balance from 1,250 to 50, below the 100 threshold", async () => {
    await expect(page.getByRole("button", { name: "Run feature" })).toBeEnabled();
    await page.getByLabel("Feature").selectOption("summarize");
    // summarize costs 1 + 1 per started KiB: 1,199 KiB cost 1,200 credits.
    await page.getByLabel("Input size (bytes)").fill(String(1_199 * 1024));
    await page.getByRole("button", { name: "Run feature" }).click();
    await expect(page.getByTestId("balance")).toHaveText(/^50\s*credits$/);
    await expect.poll(lowNotices).toBe(1);
  });

  await test.step("a second call below the threshold raises no second notice", async () => {
    await page.getByLabel("Input size (bytes)").fill("0");
    await page.getByRole("button", { name: "Run feature" }).click();
    await expect(page.getByTestId("balance")).toHaveText(/^49\s*credits$/);
    await page.reload();
    await expect(page.getByTestId("balance")).toHaveText(/^49\s*credits$/);
    expect(await lowNotices()).toBe(1);
  });

  await test.step("the credits page shows the low balance, the forecast and the history", async () => {
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Credits" })
      .click();
    await expect(page.getByTestId("credits-balance")).toHaveText(/^49\s*credits$/);
    await expect(page.getByText("Low balance", { exact: true })).toBeVisible();
    await expect(page.getByTestId("forecast")).toContainText("At this rate");
    // The first call drew from both grants (one entry each), the second from one.
    const consumed = page.getByTestId("history-entry").filter({ hasText: "Consume" });
    await expect(consumed).toHaveCount(3);
    await expect(consumed.first()).toContainText("\u22121");
    await expect(consumed.first()).toContainText("49");
    await expect(page.getByTestId("usage-day").last()).toHaveAttribute("data-credits", "1201");
    await snap(page, testInfo, "credits-low-balance");
  });
});

test("an admin's adjustment shows the server's error beside the reason, then the new balance", async ({
  page,
}, testInfo) => {
  await signIn(page, { email: "admin@example.com", password: "tally-admin" });
  await page.goto("/admin/credits");
  await page.getByLabel("Search").fill("demo");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  const row = page.getByRole("row", { name: /Demo Workspace/ });
  await row.getByRole("button", { name: "Select" }).click();

  const form = page.locator("form", { has: page.getByRole("button", { name: "Adjust credits" }) });
  await form.getByLabel("Credits", { exact: true }).fill("5");
  await form.getByLabel("Reason", { exact: true }).fill("ab");
  await form.getByRole("button", { name: "Adjust credits" }).click();
  await expect(form.getByText("Say why, in at least 3 characters")).toBeVisible();
  await expect(form.getByLabel("Reason", { exact: true })).toHaveAttribute("aria-invalid", "true");
  await snap(page, testInfo, "adjust-error");

  await form.getByLabel("Reason", { exact: true }).fill("Goodwill credit from the e2e journey");
  await form.getByRole("button", { name: "Adjust credits" }).click();
  await expect(page.getByTestId("adjust-result")).toContainText("adjusted by +5");
  await expect(form.getByLabel("Reason", { exact: true })).not.toHaveAttribute(
    "aria-invalid",
    "true",
  );
});
