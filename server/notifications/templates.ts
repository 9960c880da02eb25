/**
 * Email bodies, each with an HTML and a plain-text part.
 *
 * TODO: these hand-written templates cover the walking skeleton's three
 * emails; the full notification catalogue moves them to React Email.
 */
export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

function layout(title: string, paragraphs: string[], action?: { label: string; url: string }): string {
  const body = paragraphs.map((p) => `<p style="margin:0 0 16px">${escapeHtml(p)}</p>`).join("");
  const button = action
    ? `<p style="margin:24px 0"><a href="${escapeHtml(action.url)}" style="background:#4f46e5;color:#fff;` +
      `padding:10px 18px;border-radius:6px;text-decoration:none">${escapeHtml(action.label)}</a></p>`
    : "";

  return (
    `<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#111827;` +
    `max-width:560px;margin:0 auto;padding:24px"><h1 style="font-size:20px">${escapeHtml(title)}</h1>` +
    `${body}${button}<p style="color:#6b7280;font-size:12px">Tally</p></body></html>`
  );
}

function plain(title: string, paragraphs: string[], action?: { label: string; url: string }): string {
  return [title, "", ...paragraphs, ...(action ? ["", `${action.label}: ${action.url}`] : []), "", "Tally"].join(
    "\n",
  );
}

function render(title: string, paragraphs: string[], action?: { label: string; url: string }): RenderedEmail {
  return { subject: title, html: layout(title, paragraphs, action), text: plain(title, paragraphs, action) };
}

export function welcomeEmail(input: {
  workspaceName: string;
  tierName: string;
  initialCredits: number;
  dashboardUrl: string;
}): RenderedEmail {
  return render(
    `Welcome to Tally, ${input.workspaceName} is ready`,
    [
      `Your workspace ${input.workspaceName} is on the ${input.tierName} tier.`,
      `It starts with ${input.initialCredits.toLocaleString("en-US")} credits: the tier's monthly ` +
        "allowance plus a signup bonus.",
      "Create an API key to meter usage from your own service, or try a feature from the dashboard.",
    ],
    { label: "Open the dashboard", url: input.dashboardUrl },
  );
}

export function lowBalanceEmail(input: {
  workspaceName: string;
  balance: number;
  threshold: number;
  dashboardUrl: string;
}): RenderedEmail {
  return render(
    `${input.workspaceName} is running low on credits`,
    [
      `The balance is ${input.balance.toLocaleString("en-US")} credits, below the ` +
        `${input.threshold.toLocaleString("en-US")}-credit threshold.`,
      "When it reaches zero, calls that need credits are refused until credits are added.",
    ],
    { label: "Review the balance", url: input.dashboardUrl },
  );
}

export function signUpConfirmationEmail(input: { name: string; url: string }): RenderedEmail {
  return render(
    "Confirm your email to finish signing up",
    [
      `Hello ${input.name}, confirm that this address is yours to create your Tally account.`,
      "The link works once and expires in 24 hours. If you did not sign up, ignore this email: " +
        "no account is created without it.",
    ],
    { label: "Confirm my email", url: input.url },
  );
}

export function magicLinkEmail(input: { url: string; host: string }): RenderedEmail {
  return render(
    `Sign in to Tally`,
    [
      `Use the link below to sign in to ${input.host}. It works once and expires in 15 minutes.`,
      "If you did not ask for it, ignore this email.",
    ],
    { label: "Sign in", url: input.url },
  );
}
