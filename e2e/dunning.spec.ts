import { randomBytes } from "node:crypto";

import { expect, test, type Page } from "@playwright/test";

import { admin, customer, signedIn, snap } from "./support";

/**
 * An unpaid invoice chased to suspension and back. The demo customer makes a
 * workspace of its own, saves the card that saves but declines later charges
 * (4000 0000 0000 0341) and upgrades to Pro: the upgrade's invoice is charged
 * and fails. A platform admin moves the platform clock through the retry
 * schedule (days 1, 3, 5, 7); after the last retry the workspace is
 * suspended. The customer saves 4242 on the setup page: the invoice is paid at
 * once and the workspace is active again.
 *
 * The clock is shared with the other journeys, so the demo workspace gets a
 * card that pays first: its own open invoices are paid rather than chased
 * into a suspension that later journeys would meet.
 */

test.setTimeout(180_000);

function uniqueId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

/** Saves a test card through the billing page's button and the simulated page in setup mode. */
async function saveCard(page: Page, slug: string, number: RegExp) {
  await page.goto(`/w/${slug}/billing`);
  const button = page.getByRole("button", { name: /^(Save a card|Replace card)$/ });
  await button.click();
  await expect(page).toHaveURL(/\/checkout\/simulated\//);
  await page.getByRole("radio", { name: number }).check();
  await page.getByRole("button", { name: "Save card" }).click();
  await expect(page).toHaveURL(new RegExp(`/w/${slug}/billing\\?card=saved`));
}

/** Reloads the page until `check` passes: reactions and the minute's sweep run in the background. */
async function eventually(page: Page, check: () => Promise<void>, timeout = 90_000) {
  await expect(async () => {
    await page.reload();
    await check();
  }).toPass({ timeout });
}

test("a failed invoice is retried, suspends the workspace, and a new card brings it back", async ({
  browser,
}, testInfo) => {
  const owner = await signedIn(browser, customer);
  const adminPage = await signedIn(browser, admin);

  await test.step("the demo workspace gets a card that pays", async () => {
    await saveCard(owner, "demo", /4242 4242 4242 4242/);
    await eventually(owner, async () => {
      await expect(owner.getByTestId("payment-method")).toHaveText("Visa ending 4242", {
        timeout: 2_000,
      });
      await expect(owner.getByTestId("past-due")).toHaveCount(0, { timeout: 2_000 });
    });
  });

  const slug =
    await test.step("create a workspace and save the card that declines later", async () => {
      await owner.goto("/workspaces/new");
      await expect(owner.getByRole("button", { name: "Create workspace" })).toBeEnabled();
      await owner.getByLabel("Workspace name").fill(`Dunning ${uniqueId()}`);
      await owner.getByRole("button", { name: "Create workspace" }).click();
      await expect(owner).toHaveURL(/\/w\/dunning-[a-z0-9-]+$/);
      const created = new URL(owner.url()).pathname.split("/").pop()!;

      // The gateway customer is made by a reaction just after the workspace.
      await expect(async () => {
        await saveCard(owner, created, /4000 0000 0000 0341/);
      }).toPass({ timeout: 30_000 });
      await eventually(owner, () =>
        expect(owner.getByTestId("payment-method")).toHaveText("Visa ending 0341", {
          timeout: 2_000,
        }),
      );

      return created;
    });

  const invoiceRows = owner
    .getByRole("table", { name: "Invoices" })
    .getByRole("row")
    .filter({ hasText: /INV-\d{4}-\d{6}/ });

  await test.step("upgrade to Pro: the upgrade's invoice is charged and declined", async () => {
    await owner.goto(`/w/${slug}/plans`);
    await owner.getByTestId("choose-pro").click();
    await expect(owner.getByTestId("change-preview")).toBeVisible();
    await owner.getByTestId("confirm-change").click();
    await expect(owner.getByTestId("plan-change-result")).toContainText("is now on the Pro tier");

    await owner.goto(`/w/${slug}/billing`);
    await eventually(owner, async () => {
      await expect(invoiceRows).toHaveCount(1, { timeout: 2_000 });
      await expect(owner.getByTestId("past-due")).toContainText("Payment past due", {
        timeout: 2_000,
      });
    });
    await expect(invoiceRows.first()).toContainText("Open");
    await expect(invoiceRows.first().getByRole("button", { name: "Pay now" })).toBeVisible();
    await expect(owner.getByTestId("past-due")).toContainText("We try the card again on");
    await snap(owner, testInfo, "billing-past-due");
  });

  await test.step("Pay now with the same card is declined, beside the button", async () => {
    await invoiceRows.first().getByRole("button", { name: "Pay now" }).click();
    await expect(invoiceRows.first().getByRole("alert")).toContainText(
      "Visa ending 0341 was declined",
    );
  });

  await test.step("the admin sees the case in the dunning queue", async () => {
    await adminPage.goto("/admin/dunning");
    const row = adminPage.getByTestId("dunning-row").filter({ hasText: slug });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText("Retrying");
    await expect(row.getByRole("link", { name: /INV-\d{4}-\d{6}/ })).toBeVisible();
    await snap(adminPage, testInfo, "admin-dunning-retrying");
  });

  await test.step("the admin moves the clock a day, then a week: every retry fails", async () => {
    await adminPage.goto("/admin/clock");
    await adminPage.getByRole("button", { name: "Advance 1 day" }).click();
    await expect(adminPage.getByTestId("clock-result")).toContainText("Advance 1 day");
    // The minute's sweep makes the first retry.
    await adminPage.goto("/admin/dunning?status=all");
    const row = adminPage.getByTestId("dunning-row").filter({ hasText: slug });
    // Charges tried: the first, the declined Pay now, and the day-1 retry.
    await eventually(adminPage, () =>
      expect(row.getByTestId("case-attempts")).toHaveText(/^[3-9]$/, { timeout: 2_000 }),
    );

    await adminPage.goto("/admin/clock");
    await adminPage.getByRole("button", { name: "Advance 7 days" }).click();
    await expect(adminPage.getByTestId("clock-result")).toContainText("Advance 7 days");
    await adminPage.goto("/admin/dunning?status=exhausted");
    await eventually(adminPage, () => expect(row).toContainText("Exhausted", { timeout: 2_000 }));
    await snap(adminPage, testInfo, "admin-dunning-exhausted");
  });

  await test.step("the customer sees the workspace suspended for the invoice", async () => {
    await owner.goto(`/w/${slug}/billing`);
    await eventually(owner, () =>
      expect(owner.getByTestId("past-due")).toContainText(
        "This workspace is suspended for an unpaid invoice",
        { timeout: 2_000 },
      ),
    );
    await snap(owner, testInfo, "billing-suspended");

    // At a phone's width the notice, the card and the Pay now button fit without sideways scroll.
    await owner.setViewportSize({ width: 390, height: 844 });
    await owner.reload();
    await expect(owner.getByTestId("past-due")).toBeVisible();
    await owner.waitForLoadState("networkidle");
    const widths = await owner.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: document.documentElement.clientWidth,
    }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    await snap(owner, testInfo, "billing-suspended-narrow");
    await owner.setViewportSize({ width: 1280, height: 900 });
  });

  await test.step("saving 4242 pays the invoice and brings the workspace back", async () => {
    await saveCard(owner, slug, /4242 4242 4242 4242/);
    await eventually(owner, async () => {
      await expect(owner.getByTestId("payment-method")).toHaveText("Visa ending 4242", {
        timeout: 2_000,
      });
      await expect(owner.getByTestId("past-due")).toHaveCount(0, { timeout: 2_000 });
      await expect(invoiceRows.first()).toContainText("Paid", { timeout: 2_000 });
    });
    await expect(owner.getByTestId("current-plan")).toContainText("Active");
    await snap(owner, testInfo, "billing-recovered");

    await adminPage.goto("/admin/dunning?status=recovered");
    await expect(adminPage.getByTestId("dunning-row").filter({ hasText: slug })).toContainText(
      "Recovered",
    );
  });
});
