/**
 * Next calls register() once per server process before serving requests:
 * the place to start the embedded database, apply migrations, seed the demo
 * and start the relay and the in-process driver. Not during `next build`.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  if (process.env.NEXT_PHASE === "phase-production-build") return;

  const { boot } = await import("./server/boot");
  await boot();
}
