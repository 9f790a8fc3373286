/**
 * Clean-ups that must run even when the user presses Ctrl-C (dropping a disposable database, say).
 * The CLI's signal handler awaits them, for a bounded time, before it exits.
 */
const cleanups = new Set<() => Promise<void>>();

/** Registers `fn`; the returned function unregisters it (call it once the work is done). */
export function onInterrupt(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export async function runInterruptCleanups(timeoutMs: number): Promise<void> {
  const all = [...cleanups].map((fn) => fn().catch(() => {}));
  cleanups.clear();
  await Promise.race([Promise.all(all), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}
