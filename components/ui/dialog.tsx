"use client";

import { useEffect, useId, useRef, type ReactNode } from "react";

import { cn } from "./cn";

/**
 * A modal dialog on the browser's own <dialog>: focus moves into it and
 * stays there, Escape closes it, and the page behind is inert. Render it
 * only while open; closing in any way calls `onClose`.
 */
export function Dialog({
  title,
  description,
  onClose,
  children,
  className,
}: {
  title: ReactNode;
  description?: ReactNode;
  onClose: () => void;
  children: ReactNode;
  className?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descriptionId = useId();
  const close = useRef(onClose);
  useEffect(() => {
    close.current = onClose;
  });

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    dialog.showModal();
    // A close event is queued, not dispatched at once: one left over from an earlier close (React
    // runs effects twice in development) may arrive after the dialog opened again.
    const onNativeClose = () => {
      if (!dialog.open) close.current();
    };
    dialog.addEventListener("close", onNativeClose);

    return () => {
      dialog.removeEventListener("close", onNativeClose);
      if (dialog.open) dialog.close();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      className={cn(
        "m-auto w-full max-w-lg rounded-lg bg-white p-0 shadow-xl ring-1 ring-slate-200",
        "backdrop:bg-slate-900/40",
        className,
      )}
    >
      <div className="border-b border-slate-100 px-5 py-4">
        <h2 id={titleId} className="text-base font-semibold text-slate-900">
          {title}
        </h2>
        {description && (
          <p id={descriptionId} className="mt-0.5 text-sm text-slate-500">
            {description}
          </p>
        )}
      </div>
      <div className="px-5 py-4">{children}</div>
    </dialog>
  );
}
