import { randomBytes } from "node:crypto";

import { expect, test } from "@playwright/test";

import { admin, customer, signedIn, snap } from "./support";

/**
 * A platform admin finds a workspace in the list (searching as they type),
 * opens its page, suspends it there and sees the audit entry appear; then
 * reactivates it, so the other journeys' state is left alone. The workspace
 * is a fresh one of the demo customer (README).
 */

test("an admin searches a workspace, opens its page, suspends it there and sees the audit entry", async ({
  browser,
}, testInfo) => {
  const name = `Audited ${randomBytes(4).toString("hex")}`;
  const owner = await signedIn(browser, customer);

  const slug = await test.step("the customer creates a workspace", async () => {
    await owner.goto("/workspaces/new");
    await expect(owner.getByRole("button", { name: "Create workspace" })).toBeEnabled();
    await owner.getByLabel("Workspace name").fill(name);
    await owner.getByRole("button", { name: "Create workspace" }).click();
    await expect(owner).toHaveURL(/\/w\/audited-[a-z0-9-]+$/);
    await expect(owner.getByTestId("balance")).toContainText("1,250");

    return new URL(owner.url()).pathname.split("/").pop()!;
  });

  const adminPage = await signedIn(browser, admin);

  await test.step("the list shows every workspace with MRR totals; typing searches", async () => {
    await adminPage.goto("/admin/workspaces");
    await expect(adminPage.getByTestId("mrr-totals")).toContainText("$");
    await expect(adminPage.getByTestId("admin-workspace-row").first()).toBeVisible();
    await snap(adminPage, testInfo, "admin-workspaces-list");

    await adminPage.getByLabel("Search").fill(slug);
    await expect(adminPage).toHaveURL(new RegExp(`\\?q=${slug}$`));
    await expect(adminPage.getByTestId("admin-workspace-row")).toHaveCount(1);
    const row = adminPage.getByRole("row", { name: new RegExp(name) });
    await expect(row).toContainText("customer@example.com");
    await expect(row).toContainText("Free");
    await expect(row).toContainText("Active");
    await expect(adminPage.getByTestId("page-range")).toHaveText("1–1 of 1");

    // The address holds the search: a reload shows the same list.
    await adminPage.reload();
    await expect(adminPage.getByLabel("Search")).toHaveValue(slug);
    await expect(adminPage.getByTestId("admin-workspace-row")).toHaveCount(1);
  });

  await test.step("its page shows tier, members, balance, invoices, events and audit", async () => {
    await adminPage.getByRole("link", { name }).click();
    await expect(adminPage).toHaveURL(/\/admin\/workspaces\/[0-9a-f-]{36}$/);
    await expect(adminPage.getByRole("heading", { name, exact: true })).toBeVisible();
    await expect(adminPage.getByTestId("workspace-status")).toHaveText("Active");
    await expect(adminPage.getByTestId("detail-balance")).toContainText("1,250");
    await expect(adminPage.getByTestId("workspace-mrr")).toHaveText("$0.00");
    await expect(adminPage.getByRole("table", { name: "Members" })).toContainText(
      "customer@example.com",
    );
    await expect(adminPage.getByRole("table", { name: "Invoices" })).toContainText(
      "No invoices yet",
    );
    await expect(adminPage.getByRole("table", { name: "Recent events" })).toContainText(
      "workspace/created",
    );
    await expect(adminPage.getByTestId("audit-entry").first()).toContainText("workspaces.create");
  });

  await test.step("the admin suspends it there and the audit entry appears", async () => {
    const statusCard = adminPage.locator("section", {
      has: adminPage.getByRole("heading", { name: new RegExp(`^${name}: `) }),
    });
    await statusCard.getByLabel("Reason").fill("Chargeback on the last payment");
    await statusCard.getByRole("button", { name: "Suspend workspace" }).click();
    await expect(adminPage.getByTestId("workspace-status-result")).toContainText("is suspended");
    await expect(adminPage.getByTestId("workspace-status")).toHaveText("Suspended");

    const latest = adminPage.getByTestId("audit-entry").first();
    await expect(latest).toContainText("workspaces.suspend");
    await expect(latest).toContainText("admin@example.com");
    await expect(latest).toContainText("Chargeback on the last payment");
    await expect(adminPage.getByRole("table", { name: "Recent events" })).toContainText(
      "workspace/suspended",
    );

    await adminPage.getByLabel("Command").selectOption("workspaces.suspend");
    await expect(adminPage.getByTestId("audit-entry")).toHaveCount(1);
    await snap(adminPage, testInfo, "admin-workspace-detail-suspended");

    await statusCard.getByRole("button", { name: "Reactivate workspace" }).click();
    await expect(adminPage.getByTestId("workspace-status")).toHaveText("Active");
  });

  await test.step("the demo workspace's page, with usage and a paid tier", async () => {
    await adminPage.goto("/admin/workspaces?q=demo");
    await adminPage.getByRole("link", { name: /demo/i }).first().click();
    await expect(adminPage.getByTestId("workspace-status")).toBeVisible();
    await snap(adminPage, testInfo, "admin-workspace-detail-demo");
  });

  await owner.context().close();
  await adminPage.context().close();
});
