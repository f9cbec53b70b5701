import { InputError } from '../errors/index.js';

/** The ids every words vocabulary reserves before its first word. */
export const OOV_WORD = '<oov>';
export const OOV_ID = 0;
const RESERVED: readonly string[] = [OOV_WORD];

/** A vocabulary as saved beside parameters (parameter file, checkpoint, published version). */
export interface VocabularyJson {
  /** Capacity including the reserved ids: the model's input.vocabSize. */
  readonly capacity: number;
  /** Every id's word, id order, reserved ids first. */
  readonly words: readonly string[];
}

/**
 * An append-only word -> id map of bounded size. Ids are handed out in admission order and never
 * reassigned or removed, so parameter shapes never change and ids kept in stored per-key state
 * stay valid; once `capacity` ids are taken, further words stay out-of-vocabulary (OOV_ID) for
 * good. Which words are admitted, and when, is decided by the parameter service
 * (./admission.ts); every other holder only applies the lists it publishes.
 */
export class Vocabulary {
  readonly capacity: number;
  private readonly wordsById: string[] = [...RESERVED];
  private readonly ids = new Map<string, number>(RESERVED.map((w, i) => [w, i]));

  constructor({ capacity }: { capacity: number }) {
    if (!Number.isSafeInteger(capacity) || capacity <= RESERVED.length) {
      throw new RangeError(
        `vocabulary capacity = ${capacity}: must be an integer > ${RESERVED.length} (the reserved ids ${RESERVED.join(', ')} count)`,
      );
    }
    this.capacity = capacity;
  }

  static fromJSON(json: VocabularyJson, { capacity }: { capacity?: number } = {}): Vocabulary {
    const expected = capacity ?? json.capacity;
    if (json.capacity !== expected) {
      throw new InputError({
        reason: `a saved vocabulary of capacity ${json.capacity} does not fit input.vocabSize = ${expected}`,
        fix: `set input.vocabSize to ${json.capacity} (the size the parameters were trained with)`,
      });
    }
    const vocabulary = new Vocabulary({ capacity: json.capacity });
    vocabulary.applyWords(json.words);
    return vocabulary;
  }

  /** Number of ids in use, reserved ones included. */
  get size(): number {
    return this.wordsById.length;
  }

  get full(): boolean {
    return this.wordsById.length >= this.capacity;
  }

  /** The word's id, or undefined when it has none (yet). */
  lookup(word: string): number | undefined {
    return this.ids.get(word);
  }

  /** The word's id, OOV_ID for a word without one. */
  idOf(word: string): number {
    return this.ids.get(word) ?? OOV_ID;
  }

  wordOf(id: number): string | undefined {
    return this.wordsById[id];
  }

  /** Appends words as the next ids; returns the ids given. A word already present or no room: an error. */
  append(words: Iterable<string>): number[] {
    const given: number[] = [];
    for (const word of words) {
      if (this.ids.has(word))
        throw new RangeError(`word ${JSON.stringify(word)} has an id already`);
      if (this.full) throw new RangeError(`the vocabulary is full (${this.capacity} ids)`);
      const id = this.wordsById.length;
      this.wordsById.push(word);
      this.ids.set(word, id);
      given.push(id);
    }
    return given;
  }

  /**
   * Brings this copy up to a published word list (id order). The list must extend this copy: a
   * published vocabulary that disagrees on an id it already has would silently remap stored ids,
   * so that is an error naming the first difference.
   */
  applyWords(words: readonly string[]): number[] {
    if (words.length > this.capacity) {
      throw new InputError({
        reason: `a published vocabulary has ${words.length} words but the capacity is ${this.capacity}`,
        fix: 'run every service with the same input.vocabSize',
      });
    }
    const common = Math.min(words.length, this.wordsById.length);
    for (let id = 0; id < common; id++) {
      if (words[id] !== this.wordsById[id]) {
        throw new InputError({
          reason: `vocabulary disagreement at id ${id}: ${JSON.stringify(this.wordsById[id])} here, ${JSON.stringify(words[id])} published`,
          fix: 'restart this process from the paramserver checkpoint of the same model id (ids are never reassigned)',
        });
      }
    }
    return this.append(words.slice(this.wordsById.length));
  }

  /** Every id's word, in id order. */
  words(): readonly string[] {
    return this.wordsById;
  }

  toJSON(): VocabularyJson {
    return { capacity: this.capacity, words: [...this.wordsById] };
  }
}
