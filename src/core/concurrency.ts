/**
 * Runs `fn` over `items` with at most `limit` in flight, results in input order. Each worker gets
 * its own index (0..limit-1), so that it can hold its own resource, such as a connection.
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number, worker: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async (_, worker) => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index, worker);
    }
  });
  await Promise.all(workers);
  return results;
}
