import {
  Body,
  Button,
  Container,
  Head,
  Heading,
  Hr,
  Html,
  Link,
  Preview,
  Section,
  Text,
} from "@react-email/components";
import type { ReactNode } from "react";

/**
 * The frame every Tally email shares (React Email renders it to HTML and to
 * the plain-text part). Content is short paragraphs, an optional table of
 * facts and one call to action.
 */
const colors = {
  text: "#111827",
  muted: "#6b7280",
  accent: "#4f46e5",
  line: "#e5e7eb",
  panel: "#f9fafb",
};

export interface EmailAction {
  label: string;
  url: string;
}

export function EmailLayout({
  preview,
  heading,
  children,
  action,
  footer,
}: {
  preview: string;
  heading: string;
  children: ReactNode;
  action?: EmailAction;
  footer?: string;
}) {
  return (
    <Html lang="en">
      <Head />
      <Preview>{preview}</Preview>
      <Body
        style={{
          backgroundColor: "#ffffff",
          color: colors.text,
          fontFamily: "system-ui, sans-serif",
        }}
      >
        <Container style={{ maxWidth: "560px", margin: "0 auto", padding: "24px" }}>
          <Text style={{ color: colors.accent, fontWeight: 600, margin: "0 0 16px" }}>Tally</Text>
          <Heading as="h1" style={{ fontSize: "20px", lineHeight: "28px", margin: "0 0 16px" }}>
            {heading}
          </Heading>
          {children}
          {action && (
            <Section style={{ margin: "24px 0" }}>
              <Button
                href={action.url}
                style={{
                  backgroundColor: colors.accent,
                  color: "#ffffff",
                  padding: "10px 18px",
                  borderRadius: "6px",
                  textDecoration: "none",
                }}
              >
                {action.label}
              </Button>
              <Text style={{ color: colors.muted, fontSize: "12px", margin: "12px 0 0" }}>
                Or open <Link href={action.url}>{action.url}</Link>
              </Text>
            </Section>
          )}
          <Hr style={{ borderColor: colors.line, margin: "24px 0 12px" }} />
          <Text style={{ color: colors.muted, fontSize: "12px", margin: 0 }}>
            {footer ?? "You receive this because of your role in a Tally workspace."}
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

export function P({ children }: { children: ReactNode }) {
  return (
    <Text style={{ fontSize: "15px", lineHeight: "22px", margin: "0 0 14px" }}>{children}</Text>
  );
}

/** Label–value lines, such as an amount and a date. */
export function Facts({ rows }: { rows: [string, string][] }) {
  return (
    <Section
      style={{
        backgroundColor: colors.panel,
        borderRadius: "6px",
        padding: "12px 16px",
        margin: "0 0 16px",
      }}
    >
      {rows.map(([label, value]) => (
        <Text key={label} style={{ fontSize: "14px", lineHeight: "20px", margin: "2px 0" }}>
          <span style={{ color: colors.muted }}>{label}: </span>
          <strong>{value}</strong>
        </Text>
      ))}
    </Section>
  );
}
