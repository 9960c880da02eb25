import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { SignUpForm } from "@/components/auth/sign-up-form";
import { auth } from "@/server/auth/next-auth";

export const metadata: Metadata = { title: "Create an account" };

export default async function SignUpPage() {
  const session = await auth();
  if (session?.user) redirect("/");

  return <SignUpForm />;
}
