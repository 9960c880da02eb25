/** Card brands as Stripe names them (`card.brand`), as a customer reads them. */
const BRANDS: Record<string, string> = {
  amex: "American Express",
  cartes_bancaires: "Cartes Bancaires",
  diners: "Diners Club",
  discover: "Discover",
  eftpos_au: "eftpos",
  interac: "Interac",
  jcb: "JCB",
  link: "Link",
  mastercard: "Mastercard",
  unionpay: "UnionPay",
  visa: "Visa",
};

/** How a saved card is shown: "Visa ending 4242"; an unknown brand is "Card ending 4242". */
export function cardLabel(brand: string | null | undefined, last4: string): string {
  return `${(brand && BRANDS[brand]) || "Card"} ending ${last4}`;
}

/** What an off-session charge answers when the customer has no card saved. */
export const NO_SAVED_CARD = "No saved card to charge: the customer must save one first";
