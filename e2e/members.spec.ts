import { randomBytes } from "node:crypto";

import { expect, test, type Page } from "@playwright/test";

import { signIn, snap } from "./support";

/**
 * Collaborators as two people see them: the demo customer (README: owner of
 * the Pro workspace `demo`) invites a new address, and someone with no
 * account yet opens the emailed link in a browser of their own, signs up,
 * comes back to the invitation and joins.
 */

const owner = { email: "customer@example.com", password: "tally-demo" };

function uniqueId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

/** The href of the first link in the newest dev-mailbox email to `to` whose subject matches. */
async function linkInMailbox(page: Page, to: string, subject: RegExp, href: RegExp) {
  await page.goto(`/dev/mailbox?to=${encodeURIComponent(to)}`);
  const message = page.getByTestId("email").filter({ hasText: subject }).first();
  await expect(message).toBeVisible();
  await message.locator("summary").click();
  const link = message.getByRole("link", { name: href }).first();
  const url = await link.getAttribute("href");
  if (!url) throw new Error(`no link matching ${href} in the email to ${to}`);

  return url;
}

test("invite a collaborator who signs up from the link and joins the workspace", async ({
  page,
  browser,
}, testInfo) => {
  const guestEmail = `guest-${uniqueId()}@example.com`;
  const guestPassword = "a long guest password";

  await test.step("the owner invites an address from the members page", async () => {
    await signIn(page, owner);
    await page.goto("/w/demo");
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Members" })
      .click();
    await expect(page).toHaveURL(/\/w\/demo\/members$/);
    await expect(page.getByTestId("member-row").first()).toBeVisible();

    await page.getByLabel("Email").fill("not an address");
    await page.getByRole("button", { name: "Send invitation" }).click();
    await expect(page.locator("#invite-email-error")).toHaveText("Enter a valid email address");
    await snap(page, testInfo, "members-invite-error");

    await page.getByLabel("Email").fill(guestEmail);
    await page.getByLabel("Role").selectOption("member");
    await page.getByRole("button", { name: "Send invitation" }).click();
    await expect(page.getByTestId("invite-sent")).toContainText(guestEmail);
    await expect(page.getByTestId("invite-row").filter({ hasText: guestEmail })).toBeVisible();
    await snap(page, testInfo, "members-invited");
  });

  const inviteUrl = await test.step("the invitation email is in the dev mailbox", async () => {
    const url = await linkInMailbox(page, guestEmail, /invited you to/, /\/invite\//);
    await snap(page, testInfo, "mailbox-invitation");
    expect(url).toMatch(/\/invite\/[A-Za-z0-9_-]{43}$/);

    return url;
  });

  const guestContext = await browser.newContext();
  const guest = await guestContext.newPage();

  await test.step("the invitee opens the link signed out and signs up from it", async () => {
    await guest.goto(inviteUrl);
    await expect(guest.getByRole("heading", { name: /Join .* on Tally/ })).toBeVisible();
    await expect(guest.getByTestId("invite-workspace")).not.toBeEmpty();
    await snap(guest, testInfo, "invite-signed-out");

    await guest.getByRole("link", { name: "Create an account" }).click();
    await expect(guest).toHaveURL(/\/sign-up\?callbackUrl=/);
    await expect(guest.getByLabel("Email")).toHaveValue(guestEmail);
    await guest.getByLabel("Name").fill("Guest Person");
    await guest.getByLabel("Password").fill(guestPassword);
    await guest.getByRole("button", { name: "Create account" }).click();
    await expect(guest).toHaveURL(/\/sign-in\/check-email\?kind=sign-up/);

    const confirmUrl = await linkInMailbox(
      guest,
      guestEmail,
      /Confirm your email/,
      /\/sign-up\/confirm\?token=/,
    );
    await guest.goto(confirmUrl);
    await guest.getByLabel("Password").fill(guestPassword);
    await guest.getByRole("button", { name: "Confirm my email" }).click();
    await expect(guest).toHaveURL(/\/sign-in\?confirmed=1.*callbackUrl=/);
    await guest.getByLabel("Password").fill(guestPassword);
    await guest.getByRole("button", { name: "Sign in", exact: true }).click();
  });

  await test.step("back on the invitation, the invitee accepts and sees the workspace", async () => {
    await expect(guest).toHaveURL(new RegExp(`${new URL(inviteUrl).pathname}$`));
    await expect(guest.getByRole("button", { name: "Accept the invitation" })).toBeVisible();
    await snap(guest, testInfo, "invite-signed-in");
    await guest.getByRole("button", { name: "Accept the invitation" }).click();
    await expect(guest).toHaveURL(/\/w\/demo$/);
    await expect(guest.getByText("Member", { exact: true }).first()).toBeVisible();
    await snap(guest, testInfo, "guest-dashboard");

    await guest.goto("/w/demo/members");
    await expect(guest.getByRole("button", { name: "Send invitation" })).toHaveCount(0);
    await expect(guest.getByRole("button", { name: "Leave" })).toBeVisible();
    await snap(guest, testInfo, "members-as-member");
  });

  await test.step("the owner sees the new member and no pending invitation", async () => {
    await page.goto("/w/demo/members");
    const row = page.getByTestId("member-row").filter({ hasText: guestEmail });
    await expect(row).toBeVisible();
    await expect(row.getByRole("combobox")).toHaveValue("member");
    await expect(page.getByTestId("invite-row").filter({ hasText: guestEmail })).toHaveCount(0);
    await snap(page, testInfo, "members-after-accept");

    await page.getByTestId("workspace-switcher").click();
    const menu = page.getByRole("list", { name: "Your workspaces" });
    await expect(menu.getByRole("link", { name: /Demo Workspace/ })).toContainText(
      "Owner · Pro tier",
    );
    await expect(page.getByRole("link", { name: "+ New workspace" })).toBeVisible();
    await snap(page, testInfo, "workspace-switcher");
    await page.getByRole("link", { name: "Settings of Demo Workspace" }).click();
    await expect(page).toHaveURL(/\/w\/demo\/settings$/);
    await expect(page.getByLabel("Name")).not.toBeEmpty();
    await snap(page, testInfo, "settings");
  });

  await guestContext.close();
});
