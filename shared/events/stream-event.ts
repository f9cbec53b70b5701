/**
 * One event of a keyed stream (docs/design.md §7, CONTRACT): exactly one of `token` / `features`
 * / a `source`–`target` pair; `label` is a per-step tag, a sequence class at `eos`, or a forecast
 * target (numbers).
 */
export interface StreamEvent {
  /** Sequence key (user id, sensor id, document id); number keys arrive here as strings. */
  key: string;
  token?: string | number;
  /** NaN for a missing reading (JSON null): forecast models only. */
  features?: number[];
  label?: string | number | number[];
  /** A seq2seq pair (with `target`): the whole source sequence, tokens as strings or ids. */
  source?: Array<string | number>;
  /** A seq2seq pair (with `source`): the whole target sequence, tokens as strings or ids. */
  target?: Array<string | number>;
  /** Closes the sequence: classification happens here and the key's state resets after it. */
  eos: boolean;
  /** Producer timestamp in milliseconds since the epoch. */
  ts?: number;
}
