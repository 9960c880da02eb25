/** Who a command or a ledger entry acts for. */
export type Actor =
  | { type: "user"; userId: string }
  | { type: "api_key"; apiKeyId: string }
  | { type: "system"; reason: string };

export function actorRef(actor: Actor): { type: Actor["type"]; id: string | null } {
  switch (actor.type) {
    case "user":
      return { type: "user", id: actor.userId };
    case "api_key":
      return { type: "api_key", id: actor.apiKeyId };
    case "system":
      return { type: "system", id: null };
  }
}
