import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { SignUpForm } from "@/components/auth/sign-up-form";
import { safeCallbackUrl } from "@/components/lib/callback-url";
import { auth } from "@/server/auth/next-auth";

export const metadata: Metadata = { title: "Create an account" };

export default async function SignUpPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;
  const callbackUrl = safeCallbackUrl(params.callbackUrl);
  const session = await auth();
  if (session?.user) redirect(callbackUrl);

  return (
    <SignUpForm
      callbackUrl={callbackUrl === "/" ? undefined : callbackUrl}
      initialEmail={typeof params.email === "string" ? params.email : undefined}
    />
  );
}
