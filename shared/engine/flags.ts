/**
 * Environment switches that change how the engine computes (never what it computes), in one
 * table: variable, parse, default and doc. As tfjs' `env().registerFlag` / `env().get`, a flag is
 * read from process.env the first time it is asked for and kept for the life of the process, so
 * no hot path reads the environment. Tests choose a value with `setFlag`, or change process.env
 * and call `resetFlags`.
 *
 * RNNSTREAM_LOG_LEVEL (shared/logging) and RNNSTREAM_CONFIG (the sotu demo) are not here: they
 * choose what is logged and which file is read, not how the engine runs.
 */

/** How RecurrentModel may leave the generic time loop: see shared/model/layer-kernels.ts. */
export type FusedSetting = 'auto' | 'off' | 'block' | 'cell';
/** Where the window kernels of shared/model/window run: 'auto' = on their default backends. */
export type WindowSetting = 'auto' | 'off' | 'all';

export interface FlagDefinition<T> {
  /** The environment variable. */
  readonly env: string;
  /** Value when the variable is unset or blank. */
  readonly default: T;
  /** Value of a set, non-blank variable. */
  readonly parse: (raw: string) => T;
  readonly doc: string;
}

/** Parse of a kernel switch: 0/false/off/no is 'off', one of `named` itself, anything else 'auto'. */
function kernelSwitch<T extends string>(named: readonly T[]) {
  return (raw: string): T | 'off' | 'auto' => {
    const v = raw.trim().toLowerCase();
    if (['0', 'false', 'off', 'no'].includes(v)) return 'off';
    return (named as readonly string[]).includes(v) ? (v as T) : 'auto';
  };
}

/** Every flag. Unknown values of the kernel switches mean 'auto': a typo must not stop a run. */
export const FLAGS = {
  fused: {
    env: 'RNNSTREAM_FUSED',
    default: 'auto',
    parse: kernelSwitch(['block', 'cell']),
    doc: '0/false/off/no: the generic tfjs time loop everywhere (window kernels too); block/cell: fused LSTM with that backward variant; else automatic.',
  } satisfies FlagDefinition<FusedSetting>,
  window: {
    env: 'RNNSTREAM_WINDOW',
    default: 'auto',
    parse: kernelSwitch(['all']),
    doc: '0/false/off/no: no window kernels; all: window kernels on every backend; else on wasm only.',
  } satisfies FlagDefinition<WindowSetting>,
  backend: {
    env: 'RNNSTREAM_BACKEND',
    default: undefined,
    // Checked (and reported with the variable's name) by selectBackend, like its own argument.
    parse: (raw: string): string | undefined => raw,
    doc: 'auto|tensorflow|wasm|cpu: overrides the backend a command or config asks for.',
  } satisfies FlagDefinition<string | undefined>,
} as const;

export type FlagName = keyof typeof FLAGS;
export type FlagValue<K extends FlagName> = ReturnType<(typeof FLAGS)[K]['parse']>;

const values = new Map<FlagName, unknown>();

/** The flag's value: set by setFlag, else read from the environment once, else its default. */
export function getFlag<K extends FlagName>(name: K): FlagValue<K> {
  if (!values.has(name)) {
    const flag: FlagDefinition<unknown> = FLAGS[name];
    const raw = process.env[flag.env];
    values.set(name, raw === undefined || raw.trim() === '' ? flag.default : flag.parse(raw));
  }
  return values.get(name) as FlagValue<K>;
}

/** Fixes a flag's value for the rest of the process (or until resetFlags), whatever the environment says. */
export function setFlag<K extends FlagName>(name: K, value: FlagValue<K>): void {
  values.set(name, value);
}

/** Forgets every value, so the next getFlag reads the environment again (tests). */
export function resetFlags(): void {
  values.clear();
}
