import { Document, Page, StyleSheet, Text, View, renderToBuffer } from "@react-pdf/renderer";
import { asc, eq } from "drizzle-orm";

import { invoiceLines, invoices, type InvoiceParty } from "@/drizzle/schema";
import type { DbOrTx } from "@/server/db/client";
import { formatMoney } from "@/server/money";

import { invoiceDate, invoicePeriod, totalRows } from "./invoice-view";

/**
 * The PDF of a finalized invoice: a React layout rendered on the server by
 * @react-pdf/renderer with its built-in Helvetica, so no font files are
 * needed. The layout only formats what the invoice row and its lines hold;
 * nothing is computed here. Drafts have no PDF.
 */

export type InvoiceRow = typeof invoices.$inferSelect;
export type InvoiceLineRow = typeof invoiceLines.$inferSelect;

export interface PrintableInvoice {
  invoice: InvoiceRow & { number: string; status: Exclude<InvoiceRow["status"], "draft"> };
  lines: InvoiceLineRow[];
}

/** The invoice and its lines in order, or undefined when it does not exist or is a draft. */
export async function printableInvoice(
  db: DbOrTx,
  invoiceId: string,
): Promise<PrintableInvoice | undefined> {
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, invoiceId));
  if (!invoice || invoice.status === "draft" || invoice.number === null) return undefined;
  const { number, status } = invoice;
  const lines = await db
    .select()
    .from(invoiceLines)
    .where(eq(invoiceLines.invoiceId, invoiceId))
    .orderBy(asc(invoiceLines.position));

  return { invoice: { ...invoice, number, status }, lines };
}

export const statusMarks: Record<InvoiceRow["status"], string> = {
  draft: "DRAFT",
  open: "OPEN",
  paid: "PAID",
  void: "VOID",
  uncollectible: "UNCOLLECTIBLE",
};

const markColours: Record<InvoiceRow["status"], string> = {
  draft: "#64748b",
  open: "#b45309",
  paid: "#15803d",
  void: "#b91c1c",
  uncollectible: "#b91c1c",
};

const styles = StyleSheet.create({
  page: {
    paddingTop: 40,
    paddingBottom: 56,
    paddingHorizontal: 44,
    // TODO: the built-in Helvetica holds Latin-1 only: names or descriptions in other scripts
    // (Arabic, Hebrew, CJK, emoji) print as wrong glyphs. Ship and register a font with wider
    // coverage (and right-to-left layout) to print them.
    fontFamily: "Helvetica",
    fontSize: 9,
    color: "#0f172a",
  },
  header: { flexDirection: "row", justifyContent: "space-between", marginBottom: 24 },
  title: { fontSize: 20, fontFamily: "Helvetica-Bold" },
  number: { fontSize: 11, marginTop: 4 },
  mark: {
    fontSize: 14,
    fontFamily: "Helvetica-Bold",
    borderWidth: 2,
    paddingVertical: 4,
    paddingHorizontal: 10,
    alignSelf: "flex-start",
  },
  parties: { flexDirection: "row", marginBottom: 18 },
  party: { flex: 1, paddingRight: 16 },
  label: { fontSize: 7.5, color: "#64748b", marginBottom: 3, textTransform: "uppercase" },
  strong: { fontFamily: "Helvetica-Bold" },
  facts: { flexDirection: "row", flexWrap: "wrap", marginBottom: 18 },
  fact: { width: "17%", marginBottom: 8 },
  wideFact: { width: "32%", marginBottom: 8 },
  tableHead: {
    flexDirection: "row",
    borderBottomWidth: 1,
    borderColor: "#0f172a",
    paddingBottom: 4,
    fontFamily: "Helvetica-Bold",
  },
  row: { flexDirection: "row", borderBottomWidth: 0.5, borderColor: "#cbd5e1", paddingVertical: 5 },
  description: { flex: 1, paddingRight: 8 },
  quantity: { width: 44, textAlign: "right" },
  unit: { width: 76, textAlign: "right" },
  amount: { width: 80, textAlign: "right" },
  note: { fontSize: 7.5, color: "#64748b", marginTop: 2 },
  totals: { marginTop: 12, marginLeft: "auto", width: 240 },
  totalRow: { flexDirection: "row", justifyContent: "space-between", paddingVertical: 2.5 },
  grandRow: {
    flexDirection: "row",
    justifyContent: "space-between",
    paddingVertical: 4,
    borderTopWidth: 1,
    borderColor: "#0f172a",
    marginTop: 2,
    fontFamily: "Helvetica-Bold",
    fontSize: 10.5,
  },
  voided: { marginTop: 16, color: "#b91c1c" },
  footer: {
    position: "absolute",
    bottom: 28,
    left: 44,
    right: 44,
    flexDirection: "row",
    justifyContent: "space-between",
    fontSize: 7.5,
    color: "#64748b",
  },
});

function Party({ title, party }: { title: string; party: InvoiceParty | null }) {
  return (
    <View style={styles.party}>
      <Text style={styles.label}>{title}</Text>
      <Text style={styles.strong}>{party?.name ?? "—"}</Text>
      {(party?.lines ?? []).map((line, index) => (
        <Text key={index}>{line}</Text>
      ))}
      {party?.email ? <Text>{party.email}</Text> : null}
      {party?.taxId ? <Text>Tax ID {party.taxId}</Text> : null}
    </View>
  );
}

function Fact({ label, value, wide }: { label: string; value: string | null; wide?: boolean }) {
  if (value === null) return null;

  return (
    <View style={wide ? styles.wideFact : styles.fact}>
      <Text style={styles.label}>{label}</Text>
      <Text>{value}</Text>
    </View>
  );
}

/** The invoice as pages: header and parties once, the lines flowing onto as many pages as needed. */
export function InvoiceDocument({ invoice, lines }: PrintableInvoice) {
  const money = (amountMinor: number) => formatMoney(amountMinor, invoice.currency);
  const colour = markColours[invoice.status];

  return (
    <Document title={`Invoice ${invoice.number}`} author={invoice.seller?.name ?? "Tally"}>
      <Page size="A4" style={styles.page}>
        <View style={styles.header}>
          <View>
            <Text style={styles.title}>Invoice</Text>
            <Text style={styles.number}>{invoice.number}</Text>
          </View>
          <Text style={[styles.mark, { color: colour, borderColor: colour }]}>
            {statusMarks[invoice.status]}
          </Text>
        </View>

        <View style={styles.parties}>
          <Party title="From" party={invoice.seller} />
          <Party title="Bill to" party={invoice.buyer} />
        </View>

        <View style={styles.facts}>
          <Fact
            label="Issued"
            value={invoice.finalizedAt ? invoiceDate(invoice.finalizedAt) : null}
          />
          <Fact label="Due" value={invoice.dueAt ? invoiceDate(invoice.dueAt) : null} />
          <Fact label="Paid" value={invoice.paidAt ? invoiceDate(invoice.paidAt) : null} />
          <Fact label="Period" value={invoicePeriod(invoice.periodStart, invoice.periodEnd)} wide />
          <Fact label="Currency" value={invoice.currency} />
        </View>

        <View style={styles.tableHead} fixed>
          <Text style={styles.description}>Description</Text>
          <Text style={styles.quantity}>Qty</Text>
          <Text style={styles.unit}>Unit price</Text>
          <Text style={styles.amount}>Amount</Text>
        </View>
        {lines.map((line) => {
          const period = invoicePeriod(line.periodStart, line.periodEnd);

          return (
            <View key={line.id} style={styles.row} wrap={false}>
              <View style={styles.description}>
                <Text>{line.description}</Text>
                {period ? <Text style={styles.note}>{period}</Text> : null}
                <Text style={styles.note}>Rounding: {line.rounding}</Text>
              </View>
              <Text style={styles.quantity}>{line.quantity.toLocaleString("en-US")}</Text>
              <Text style={styles.unit}>
                {line.unitAmountMinor === null ? "" : money(line.unitAmountMinor)}
              </Text>
              <Text style={styles.amount}>{money(line.amountMinor)}</Text>
            </View>
          );
        })}

        <View style={styles.totals} wrap={false}>
          {totalRows(invoice, lines).map((row) => (
            <View key={row.label} style={row.emphasis ? styles.grandRow : styles.totalRow}>
              <Text>{row.label}</Text>
              <Text>{money(row.amountMinor)}</Text>
            </View>
          ))}
        </View>

        {invoice.status === "void" && (
          <Text style={styles.voided}>
            This invoice was voided
            {invoice.voidedAt ? ` on ${invoiceDate(invoice.voidedAt)}` : ""}
            {invoice.voidReason ? `: ${invoice.voidReason}` : ""}. Nothing is owed on it.
          </Text>
        )}

        <View style={styles.footer} fixed>
          <Text>
            {invoice.number} · {invoice.seller?.name ?? ""}
          </Text>
          <Text render={({ pageNumber, totalPages }) => `Page ${pageNumber} of ${totalPages}`} />
        </View>
      </Page>
    </Document>
  );
}

export function invoicePdfFilename(number: string): string {
  return `${number}.pdf`;
}

/** The invoice's PDF bytes. */
export async function renderInvoicePdf(printable: PrintableInvoice): Promise<Buffer> {
  return renderToBuffer(<InvoiceDocument {...printable} />);
}
