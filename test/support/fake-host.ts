import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { HostView } from '../../shared/engine/cuda/host-view.js';

/**
 * A machine for the CUDA probes that exists only in a temporary directory: `files` (path ->
 * content) and `links` (path -> target, as `ln -s` takes it) laid out below a root, canned
 * `commands` output ('nvidia-smi -L' -> stdout; a command not listed fails as if missing) and
 * `env`. remove() deletes the directory.
 */
export function fakeHost({
  files = {},
  links = {},
  commands = {},
  env = {},
}: {
  files?: Record<string, string>;
  links?: Record<string, string>;
  commands?: Record<string, string>;
  env?: Record<string, string>;
}): HostView & { remove(): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'rnnstream-fake-host-'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  for (const [link, target] of Object.entries(links)) {
    mkdirSync(path.join(root, path.dirname(link)), { recursive: true });
    symlinkSync(target, path.join(root, link));
  }
  return {
    root,
    env,
    platform: 'linux',
    run: (command, args) => commands[[command, ...args].join(' ')],
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** `ldconfig -p` output listing `paths` (x86-64 libc6 entries), as the real one prints it. */
export function ldconfigListing(paths: readonly string[]): string {
  const lines = paths.map((p) => `\t${path.basename(p)} (libc6,x86-64) => ${p}`);
  return `${paths.length} libs found in cache \`/etc/ld.so.cache'\n${lines.join('\n')}\n`;
}
