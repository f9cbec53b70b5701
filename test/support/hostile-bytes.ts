import assert from 'node:assert/strict';

import fc from 'fast-check';

/**
 * Generators of hostile input for binary decoders, and the check every decoder must pass on it:
 * return or throw one of its typed errors, within a time bound.
 */

/** Seed of every property of the hostile-input tests: a failure reproduces. */
export const SEED = 20_240_611;

/** Longest a decoder may take for one input of these tests (they are all below 100 KB). */
export const MAX_CALL_MS = 1000;

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs `call` and returns its result, or undefined when it threw an instance of one of `allowed`.
 * Fails on any other throw, and when the call took longer than MAX_CALL_MS.
 */
export function typedOutcome<T>(call: () => T, allowed: readonly ErrorClass[]): T | undefined {
  const start = performance.now();
  try {
    return call();
  } catch (error) {
    assert.ok(
      allowed.some((type) => error instanceof type),
      `threw ${(error as Error)?.constructor?.name}: ${String((error as Error)?.message).slice(0, 300)}`,
    );
    return undefined;
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < MAX_CALL_MS, `one call took ${ms.toFixed(0)} ms`);
  }
}

/** async form of typedOutcome. */
export async function typedOutcomeAsync<T>(
  call: () => Promise<T>,
  allowed: readonly ErrorClass[],
): Promise<T | undefined> {
  const start = performance.now();
  try {
    return await call();
  } catch (error) {
    assert.ok(
      allowed.some((type) => error instanceof type),
      `threw ${(error as Error)?.constructor?.name}: ${String((error as Error)?.message).slice(0, 300)}`,
    );
    return undefined;
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < MAX_CALL_MS, `one call took ${ms.toFixed(0)} ms`);
  }
}

/** Protobuf varint bytes of a non-negative bigint (up to 10 bytes for 64 bits). */
export function varint(value: bigint | number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** A field key: field number and wire type. */
export function key(field: number, wireType: number): number[] {
  return varint(field * 8 + wireType);
}

/** Lengths no sender could mean: beyond the input, beyond 2^31, 2^50, 2^64 − 1. */
export const HUGE_LENGTHS = [
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 50n,
  2n ** 53n,
  2n ** 64n - 1n,
];

/** A field declaring a length far beyond what follows it. */
const hugeLengthField = fc
  .tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom(...HUGE_LENGTHS))
  .map(([field, length]) => [...key(field, 2), ...varint(length)]);

/** `depth` group starts of one field (wire type 3), never closed, or closed in the wrong order. */
export function nestedGroups(depth: number, field = 15): Uint8Array {
  const start = key(field, 3);
  const out = new Uint8Array(depth * start.length);
  for (let i = 0; i < depth; i++) out.set(start, i * start.length);
  return out;
}

/** Bytes that are not a valid encoding of anything in particular. */
export const junkBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 2048 }),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => nestedGroups(depth)),
  // Varints of 11+ bytes, and a key followed by nothing.
  fc.integer({ min: 1, max: 40 }).map((n) => Uint8Array.from({ length: n }, () => 0xff)),
  hugeLengthField.map((bytes) => Uint8Array.from(bytes)),
);

/**
 * Hostile variants of a valid encoding: cut short, bytes flipped, junk spliced in, a field of a
 * huge declared length or deep group nesting inserted, or appended.
 */
export function hostileVariants(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: valid.length });
  const splice = (pos: number, insert: ArrayLike<number>) => {
    const out = new Uint8Array(valid.length + insert.length);
    out.set(valid.subarray(0, pos), 0);
    out.set(insert, pos);
    out.set(valid.subarray(pos), pos + insert.length);
    return out;
  };
  const variants: Array<fc.Arbitrary<Uint8Array>> = [
    fc.nat({ max: Math.max(0, valid.length - 1) }).map((n) => valid.slice(0, n)),
    fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 })
      .map((flips) => {
        const out = valid.slice();
        if (out.length > 0) for (const [pos, mask] of flips) out[pos % out.length]! ^= mask;
        return out;
      }),
    fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([pos, b]) => splice(pos, b)),
    fc.tuple(at, hugeLengthField).map(([pos, b]) => splice(pos, b)),
    fc
      .tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 20 }))
      .map(([depth, field]) => splice(valid.length, nestedGroups(depth, field))),
  ];
  return fc.oneof(...variants);
}

/** Float32 values (NaN excluded: a decoded NaN has no one expected bit pattern to compare). */
export const float32 = fc.float({ noNaN: true });

/** Values exact in float32, bfloat16 and float16 alike: n / 2^k for |n| ≤ 256, k ≤ 8. */
export const exactIn16Bits = fc
  .tuple(fc.integer({ min: -256, max: 256 }), fc.integer({ min: 0, max: 8 }))
  .map(([n, k]) => n / 2 ** k);

/** A bigint in [0, 2^64) biased to the edges: 0, 2^53 ± 1, 2^63, 2^64 − 1. */
export const extremeUint64 = fc.oneof(
  fc.constantFrom(0n, 1n, 2n ** 32n - 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n),
  fc.constantFrom(2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

/** A uint32 biased to the edges. */
export const extremeUint32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1),
  fc.nat({ max: 2 ** 32 - 1 }),
);

/** The bits of a Float32Array, for comparing values exactly (-0 and 0 differ). */
export function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}
