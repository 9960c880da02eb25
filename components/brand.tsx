import Link from "next/link";

export function Brand({ href = "/" }: { href?: string }) {
  return (
    <Link href={href} className="inline-flex items-center gap-2 font-semibold text-slate-900">
      <span
        aria-hidden="true"
        className="grid size-7 place-items-center rounded-md bg-indigo-600 text-sm text-white"
      >
        T
      </span>
      <span className="text-base tracking-tight">Tally</span>
    </Link>
  );
}
