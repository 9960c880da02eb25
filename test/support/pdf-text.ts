import { inflateSync } from "node:zlib";

/** WinAnsi differs from Latin-1 in 0x80–0x9F; the invoice uses these of them. */
const WIN_ANSI: Record<number, string> = {
  0x80: "€",
  0x91: "‘",
  0x92: "’",
  0x93: "“",
  0x94: "”",
  0x95: "•",
  0x96: "–",
  0x97: "—",
};

function winAnsi(bytes: Buffer): string {
  return [...bytes].map((byte) => WIN_ANSI[byte] ?? String.fromCharCode(byte)).join("");
}

/**
 * The text drawn on a PDF's pages, one string per text run (a line can be
 * several runs), as written by
 * @react-pdf/renderer with its built-in fonts: Flate-compressed content
 * streams whose TJ arrays hold hex strings in WinAnsi encoding. Enough to
 * check what an invoice prints without a PDF reader installed.
 */
export function pdfText(pdf: Buffer): string[] {
  const source = pdf.toString("latin1");
  const runs: string[] = [];
  const streamStart = /stream\r?\n/g;
  let match: RegExpExecArray | null;
  while ((match = streamStart.exec(source))) {
    const start = match.index + match[0].length;
    const end = source.indexOf("endstream", start);
    if (end < 0) break;
    let content: string;
    try {
      content = inflateSync(pdf.subarray(start, end)).toString("latin1");
    } catch {
      continue;
    }
    for (const array of content.matchAll(/\[([^\]]*)\]\s*TJ/g)) {
      const hex = [...array[1]!.matchAll(/<([0-9a-fA-F]*)>/g)].map((part) => part[1]).join("");
      runs.push(winAnsi(Buffer.from(hex, "hex")));
    }
  }

  return runs;
}
