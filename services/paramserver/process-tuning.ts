/**
 * glibc malloc settings for the paramserver process. Every round allocates and frees tens of MB
 * (gradients read, a version's chunks and produce requests); by default glibc
 * gives large freed blocks back to the kernel, and touching fresh pages again costs a minor page
 * fault per 4 KB — 10–15k faults and 100–300 ms per round on a VM. Keeping freed memory (trim
 * threshold 2 GiB) and serving blocks up to 32 MiB from the heap (the largest mmap threshold
 * glibc accepts) took a 4-worker round of 5.6 M parameters from ~650 to ~400 ms p50
 * (BENCHMARKS.md). glibc reads them only when a process starts, so they belong in its environment.
 */
export const PARAMSERVER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: String(2 * 1024 ** 3),
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 ** 2),
};

/** What to tell the operator when the settings are missing on Linux, or undefined. */
export function mallocTuningHint(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (platform !== 'linux') return undefined;
  const missing = Object.keys(PARAMSERVER_MALLOC_ENV).filter((name) => env[name] === undefined);
  if (missing.length === 0) return undefined;
  const assignments = Object.entries(PARAMSERVER_MALLOC_ENV)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  return `glibc malloc returns freed memory to the kernel, so each round page-faults it back (about a third of a large model's round time); start the paramserver with ${assignments} in its environment (docs/tuning.md)`;
}

/**
 * Node (V8) flags for a paramserver that shares its cores with other processes (a broker,
 * workers). Every 64 MB of ArrayBuffers a round allocates (fetch responses, a version's chunks and
 * produce requests) sets off a major GC; V8's concurrent and parallel GC
 * helper threads then take CPU from the processes the round waits for. Single-threaded GC cut the
 * server's CPU per 4-worker round from ~0.85 to ~0.55 s on the 2-core benchmark machine (0.49 to
 * 0.42 s once the server pooled its buffers and stopped loading TensorFlow.js)
 * (BENCHMARKS.md, "Parameter service rounds"). V8 reads them only at start:
 * `node --single-threaded-gc bin/rnnstream.js paramserver …`.
 */
export const PARAMSERVER_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];
