/**
 * Polls `cond` every 50 ms until it holds; after `ms`, fails naming what it waited for. A condition that throws
 * counts as not yet (a file still being written cannot be read whole); its last error is named if time runs out.
 */
export async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      if (cond()) return;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() - t0 > ms) {
      const why = lastError instanceof Error ? ` (last: ${lastError.message.split('\n')[0]})` : '';
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
