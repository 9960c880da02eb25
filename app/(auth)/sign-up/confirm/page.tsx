import type { Metadata } from "next";

import { ConfirmSignUp } from "@/components/auth/confirm-sign-up";

export const metadata: Metadata = { title: "Confirm your email" };

export default async function ConfirmSignUpPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;

  return <ConfirmSignUp token={typeof params.token === "string" ? params.token : ""} />;
}
