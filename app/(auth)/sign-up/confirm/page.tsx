import type { Metadata } from "next";

import { ConfirmSignUp } from "@/components/auth/confirm-sign-up";
import { safeCallbackUrl } from "@/components/lib/callback-url";

export const metadata: Metadata = { title: "Confirm your email" };

export default async function ConfirmSignUpPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;

  return (
    <ConfirmSignUp
      token={typeof params.token === "string" ? params.token : ""}
      callbackUrl={safeCallbackUrl(params.callbackUrl)}
    />
  );
}
