import { cn } from "@/components/ui/cn";

/** An email's HTML part, shown in a frame that can run no code and cannot reach this page. */
export function EmailFrame({
  title,
  html,
  className,
}: {
  title: string;
  html: string;
  className?: string;
}) {
  return (
    <iframe
      title={title}
      srcDoc={withLinksInNewTab(html)}
      // No allow-scripts and no allow-same-origin: the email's HTML cannot run code or reach
      // this page; links may only open a new tab.
      sandbox="allow-popups allow-popups-to-escape-sandbox"
      loading="lazy"
      className={cn("h-80 w-full rounded-md bg-white ring-1 ring-slate-200", className)}
    />
  );
}

/** A sandboxed frame cannot navigate this page; a base target opens its links in a new tab. */
function withLinksInNewTab(html: string): string {
  const base = '<base target="_blank">';
  const head = /<head(\s[^>]*)?>/i;
  if (head.test(html)) return html.replace(head, (tag) => `${tag}${base}`);
  // After <html>, not before the doctype: a tag ahead of it would switch the frame to quirks mode.
  const root = /<html(\s[^>]*)?>/i;
  if (root.test(html)) return html.replace(root, (tag) => `${tag}<head>${base}</head>`);

  return `${base}${html}`;
}
