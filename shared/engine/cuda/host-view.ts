/**
 * What the CUDA probes read of the machine: files below `root`, the environment, and the output of
 * a few commands (nvidia-smi, ldconfig). Production passes `realHost()`; tests pass a temporary
 * directory laid out like `/` and canned command output, which is how CUDA set-ups are checked on
 * machines without a GPU.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';

export interface HostView {
  /** Prefix of every absolute path the probes read: '/' for the real machine. */
  readonly root: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  /** stdout of `command args` when it ran and exited 0; undefined when it is missing or failed. */
  readonly run: (command: string, args: readonly string[]) => string | undefined;
}

/** Commands get a few seconds: a hung nvidia-smi (a GPU that fell off the bus) must not hang doctor. */
const COMMAND_TIMEOUT_MS = 5_000;

function runCommand(command: string, args: readonly string[]): string | undefined {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: COMMAND_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return result.status === 0 ? result.stdout : undefined;
}

export function realHost(): HostView {
  return { root: '/', env: process.env, platform: process.platform, run: runCommand };
}

/** Where the absolute path `p` of the probed machine is on this one. */
export function onHost(host: HostView, p: string): string {
  return host.root === '/' ? p : path.join(host.root, p);
}

export function readHostFile(host: HostView, p: string): string | undefined {
  try {
    return readFileSync(onHost(host, p), 'utf8');
  } catch {
    return undefined;
  }
}

export function hostFileExists(host: HostView, p: string): boolean {
  try {
    return statSync(onHost(host, p)).isFile();
  } catch {
    return false;
  }
}

export function listHostDir(host: HostView, dir: string): string[] {
  try {
    return readdirSync(onHost(host, dir));
  } catch {
    return [];
  }
}

/**
 * The file `p` finally names after following its symbolic links (absolute targets are read below
 * `root` too), as a path of the probed machine; `p` itself when it is no link.
 */
export function resolveHostLinks(host: HostView, p: string): string {
  let current = p;
  for (let hop = 0; hop < 16; hop++) {
    let target: string;
    try {
      target = readlinkSync(onHost(host, current));
    } catch {
      return current; // not a link (or gone): this is the file
    }
    current = path.isAbsolute(target) ? target : path.join(path.dirname(current), target);
  }
  return current;
}

/** The directories of a colon-separated search path (LD_LIBRARY_PATH), empty entries dropped. */
export function searchPath(value: string | undefined): string[] {
  return (value ?? '').split(path.delimiter).filter((dir) => dir.trim() !== '');
}
