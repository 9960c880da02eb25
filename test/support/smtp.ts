import type { AddressInfo } from "node:net";

import { SMTPServer } from "smtp-server";

/**
 * A local SMTP server for tests: it accepts mail (or refuses it while
 * `refuse` is set) and keeps every accepted message's envelope and raw text.
 */
export interface SmtpStandIn {
  url: string;
  messages: { from: string; to: string[]; raw: string }[];
  refuse: boolean;
  close(): Promise<void>;
}

export async function startSmtpStandIn(): Promise<SmtpStandIn> {
  const standIn: SmtpStandIn = {
    url: "",
    messages: [],
    refuse: false,
    close: async () => undefined,
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => (raw += chunk.toString()));
      stream.on("end", () => {
        if (standIn.refuse)
          return callback(Object.assign(new Error("Mailbox unavailable"), { responseCode: 450 }));
        standIn.messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  standIn.url = `smtp://127.0.0.1:${port}`;
  standIn.close = () => new Promise<void>((resolve) => server.close(() => resolve()));

  return standIn;
}
