/** Only same-site paths: a callback URL from the query string must not send users elsewhere. */
export function safeCallbackUrl(value: string | string[] | undefined, fallback = "/"): string {
  const url = Array.isArray(value) ? value[0] : value;
  if (!url || !url.startsWith("/") || url.startsWith("//") || url.startsWith("/\\"))
    return fallback;

  return url;
}

/** Messages for the error codes Auth.js puts on the sign-in page's URL. */
export function authErrorMessage(code: string | string[] | undefined): string | undefined {
  const value = Array.isArray(code) ? code[0] : code;
  switch (value) {
    case undefined:
    case "":
      return undefined;
    case "CredentialsSignin":
      return "Wrong email or password.";
    case "Verification":
      return "That sign-in link has expired or was already used. Ask for a new one below.";
    case "OAuthAccountNotLinked":
      return "This email already signs in another way. Sign in the way you did before.";
    case "AccessDenied":
      return "Access was denied.";
    case "EmailSignin":
      return "We could not send the sign-in email. Try again in a moment.";
    default:
      return "Sign-in failed. Try again.";
  }
}
