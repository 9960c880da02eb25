import { render } from "@react-email/render";
import { describe, expect, it } from "vitest";

import { isMandatory } from "./definition";
import { notificationTypes } from "./types";

const appUrl = "https://tally.example";

describe.each(notificationTypes.map((definition) => [definition.type, definition] as const))(
  "notification type %s",
  (_, definition) => {
    it("has sample data its schema accepts", () => {
      expect(definition.schema.safeParse(definition.sample).success).toBe(true);
    });

    it("renders an email with an HTML and a plain-text part from the sample", async () => {
      const email = definition.email(definition.sample, { appUrl });
      const html = await render(email.element);
      const text = await render(email.element, { plainText: true });

      expect(email.subject.length).toBeGreaterThan(5);
      expect(html).toMatch(/^<!DOCTYPE html/);
      expect(html).toContain("Tally");
      expect(text.length).toBeGreaterThan(40);
      for (const part of [email.subject, html, text]) {
        expect(part).not.toMatch(/undefined|NaN|\[object Object\]/);
      }
      // Every link an email offers is also readable in its text part.
      for (const [, href] of html.matchAll(/href="([^"]+)"/g)) {
        expect(text).toContain(href!.replaceAll("&amp;", "&"));
      }
    });

    it("has an in-app summary that names what happened", () => {
      const summary = definition.inApp(definition.sample);
      expect(summary.title.length).toBeGreaterThan(3);
      expect(summary.body.length).toBeGreaterThan(3);
      expect(summary.link === null || summary.link.startsWith("/")).toBe(true);
      expect(`${summary.title} ${summary.body}`).not.toMatch(/undefined|NaN|\[object Object\]/);
    });

    it("can be sent: by an event, or with an object of its own", () => {
      expect(Boolean(definition.trigger) || Boolean(definition.object?.(definition.sample))).toBe(
        true,
      );
      expect(definition.channels.length).toBeGreaterThan(0);
      if (definition.audience === "address") expect(definition.channels).toEqual(["email"]);
      if (definition.audience === "platform_admins")
        expect(definition.channels).not.toContain("webhook");
    });
  },
);

describe("the catalogue of notification types", () => {
  it("names each type once and keeps security and billing notices mandatory", () => {
    const names = notificationTypes.map((definition) => definition.type);
    expect(new Set(names).size).toBe(names.length);
    for (const definition of notificationTypes) {
      expect(definition.type).toMatch(/^[a-z]+\.[a-z_]+$/);
      expect(isMandatory(definition)).toBe(["security", "billing"].includes(definition.category));
    }
  });

  it("covers the notices the product sends", () => {
    const names = new Set(notificationTypes.map((definition) => definition.type));
    for (const type of [
      "account.welcome",
      "credits.low_balance",
      "credits.purchase_receipt",
      "billing.invoice_issued",
      "billing.payment_failed",
      "billing.payment_retry_failed",
      "billing.suspension_warning",
      "workspace.suspended",
      "workspace.reactivated",
      "promotions.trial_ending",
      "promotions.applied",
      "promotions.expiring",
      "usage.quota_exceeded",
      "workspace.collaborator_invite",
      "operations.performance_alert",
    ]) {
      expect(names).toContain(type);
    }
  });
});
