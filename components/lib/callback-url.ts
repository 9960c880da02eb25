const HERE = "http://tally.invalid";

/**
 * Only same-site paths: a callback URL from the query string must not send
 * users elsewhere. The value is parsed the way a browser would (which drops
 * tabs and newlines, so "/\t/evil.example" means "//evil.example") and kept
 * only if it stays on this origin; what is returned is the parsed path.
 */
export function safeCallbackUrl(value: string | string[] | undefined, fallback = "/"): string {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw || !raw.startsWith("/")) return fallback;
  let url: URL;
  try {
    url = new URL(raw, HERE);
  } catch {
    return fallback;
  }
  // Dot segments can resolve "/..//evil.example" to the path "//evil.example", another host to a
  // browser.
  if (url.origin !== HERE || url.pathname.startsWith("//") || url.pathname.startsWith("/\\"))
    return fallback;

  return `${url.pathname}${url.search}${url.hash}`;
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
