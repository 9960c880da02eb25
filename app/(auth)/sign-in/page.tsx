import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { SignInForms } from "@/components/auth/sign-in-forms";
import { authErrorMessage, safeCallbackUrl } from "@/components/lib/callback-url";
import { serverCaller } from "@/server/trpc/server-caller";
import { auth } from "@/server/auth/next-auth";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;
  const callbackUrl = safeCallbackUrl(params.callbackUrl);
  const session = await auth();
  if (session?.user) redirect(callbackUrl);

  const options = await (await serverCaller()).auth.signInOptions();

  return (
    <SignInForms
      callbackUrl={callbackUrl}
      confirmedEmail={
        params.confirmed === "1" && typeof params.email === "string" ? params.email : undefined
      }
      initialError={authErrorMessage(params.error)}
      oauth={options.oauth}
      devMailbox={options.devMailbox}
    />
  );
}
