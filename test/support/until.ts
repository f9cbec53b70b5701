/**
 * Polls `probe` every `intervalMs` until it returns a value (anything but undefined) and returns
 * it; after `timeoutMs` throws "timed out after … waiting for <what>", with `diagnose()` (e.g. the
 * services' log tails) appended. With `ignoreErrors` a probe that throws counts as "not yet"
 * (a service that is restarting), otherwise its error ends the wait.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  {
    timeoutMs = 60_000,
    intervalMs = 250,
    ignoreErrors = false,
    diagnose,
  }: {
    timeoutMs?: number;
    intervalMs?: number;
    ignoreErrors?: boolean;
    diagnose?: () => string;
  } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await (ignoreErrors ? probe().catch(() => undefined) : probe());
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${diagnose ? `\n${diagnose()}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
