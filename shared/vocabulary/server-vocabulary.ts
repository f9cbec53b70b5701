import { ShapeError } from '../errors/index.js';
import { VocabularyAdmission, type AdmissionJson, type AdmissionRules } from './admission.js';
import type { WordCounts } from './word-counts.js';
import type { WordVectorTable } from './word-vectors.js';

/** The name of the input embedding table ([vocabSize + 1, embedding]; the last row is BOS). */
export const EMBEDDING = 'embedding';

/** The vocabulary part of a parameter service's state (checkpoint, parameter file). */
export interface ServerVocabularyJson extends AdmissionJson {
  /**
   * Rows holding a frozen pretrained vector: no update ever changes them. Absent (a vocabulary
   * taken from a published version or a parameter file): with frozen vectors, the rows of the
   * words the vectors have.
   */
  readonly frozenIds?: readonly number[] | undefined;
}

/** The state of a vocabulary known only by its word list (no waiting counts, frozen rows derived). */
export function vocabularyFromWords(
  words: readonly string[],
  capacity: number,
): ServerVocabularyJson {
  return { vocabulary: { capacity, words: [...words] }, candidates: [] };
}

export interface PretrainedVectors {
  readonly table: WordVectorTable;
  /** Frozen rows get no update; otherwise the vectors are only the starting point (fine-tuning). */
  readonly freeze: boolean;
  /** How many of the file's first words get ids up front, in file order (0: none). */
  readonly seedWords: number;
}

/**
 * The vocabulary as the parameter service owns it: admission of counted words
 * (VocabularyAdmission) plus pretrained vectors, which are written into a word's embedding row
 * when it is admitted, and kept fixed there when frozen by masking that row out of every
 * averaged gradient. (Before admission a row sees no gradient at all: no input maps to it.)
 */
export class ServerVocabulary {
  readonly admission: VocabularyAdmission;
  private readonly pretrained: PretrainedVectors | undefined;
  /** Frozen rows by id, as placed: the values every update must leave them at. */
  private readonly frozen = new Map<number, Float32Array>();
  private readonly savedFrozenIds: readonly number[];

  constructor({
    rules,
    pretrained,
    saved,
  }: {
    rules: AdmissionRules;
    pretrained?: PretrainedVectors | undefined;
    saved?: ServerVocabularyJson | undefined;
  }) {
    this.admission = new VocabularyAdmission(rules, saved);
    this.pretrained = pretrained;
    this.savedFrozenIds =
      saved?.frozenIds ??
      (saved !== undefined && pretrained?.freeze === true
        ? saved.vocabulary.words.flatMap((word, id) =>
            id > 0 && pretrained.table.vectors.has(word) ? [id] : [],
          )
        : []);
  }

  get words(): readonly string[] {
    return this.admission.vocabulary.words();
  }

  /**
   * A fresh server's first step: checks the embedding width against the vectors and gives the
   * file's first `seedWords` words their ids and rows. A restored vocabulary is left as it was.
   */
  initialize(params: Map<string, Float32Array>, { restored }: { restored: boolean }): string[] {
    if (this.savedFrozenIds.length > 0) {
      // A restored frozen row holds its vector still: the parameters never moved it.
      const table = embeddingTable(params);
      const width = table.length / (this.admission.rules.capacity + 1);
      for (const id of this.savedFrozenIds)
        this.frozen.set(id, table.slice(id * width, (id + 1) * width));
    }
    if (this.pretrained === undefined) return [];
    const width = embeddingWidth(params, this.admission.rules.capacity);
    if (width !== this.pretrained.table.dimension) {
      throw new ShapeError(
        `model.embedding = ${width} but the pretrained vectors have ${this.pretrained.table.dimension} dimensions (fix: set model.embedding to ${this.pretrained.table.dimension}, or use vectors of ${width} dimensions)`,
      );
    }
    if (restored) return [];
    const vocabulary = this.admission.vocabulary;
    const seeds = this.pretrained.table.words
      .filter((word) => vocabulary.lookup(word) === undefined)
      .slice(0, Math.min(this.pretrained.seedWords, vocabulary.capacity - vocabulary.size));
    const ids = vocabulary.append(seeds);
    this.placeVectors(params, seeds, ids);
    return seeds;
  }

  /** Adds the word counts one gradient reported. */
  count(counts: WordCounts | undefined): void {
    if (counts !== undefined && counts.size > 0) this.admission.count(counts);
  }

  /** Admits the words that reached the threshold and writes their pretrained rows. */
  admit(params: Map<string, Float32Array>): string[] {
    const size = this.admission.vocabulary.size;
    const admitted = this.admission.admit();
    this.placeVectors(
      params,
      admitted,
      admitted.map((_, i) => size + i),
    );
    return admitted;
  }

  /**
   * Zeroes the frozen rows of a gradient of the embedding (in place), so they take no part in the
   * round's average and its clipping norm.
   */
  maskFrozen(
    gradient: { readonly shape: readonly number[]; readonly data: Float32Array } | undefined,
  ): void {
    if (gradient === undefined || this.frozen.size === 0) return;
    const width = gradient.shape[1] ?? 0;
    for (const id of this.frozen.keys()) gradient.data.fill(0, id * width, (id + 1) * width);
  }

  /**
   * Puts the frozen rows back after an update: a zero gradient alone does not hold a row still
   * under momentum or Adam when its optimizer slots are not zero (say, from gradients that reached
   * the row before its word was admitted).
   */
  holdFrozen(params: Map<string, Float32Array>): void {
    if (this.frozen.size === 0) return;
    const table = embeddingTable(params);
    for (const [id, vector] of this.frozen) table.set(vector, id * vector.length);
  }

  toJSON(): ServerVocabularyJson {
    return { ...this.admission.toJSON(), frozenIds: [...this.frozen.keys()].sort((a, b) => a - b) };
  }

  private placeVectors(
    params: Map<string, Float32Array>,
    words: readonly string[],
    ids: readonly number[],
  ): void {
    if (this.pretrained === undefined) return;
    const table = embeddingTable(params);
    const width = this.pretrained.table.dimension;
    words.forEach((word, i) => {
      const vector = this.pretrained!.table.vectors.get(word);
      if (vector === undefined) return;
      table.set(vector, ids[i]! * width);
      if (this.pretrained!.freeze) this.frozen.set(ids[i]!, vector);
    });
  }
}

function embeddingTable(params: Map<string, Float32Array>): Float32Array {
  const table = params.get(EMBEDDING);
  if (table === undefined)
    throw new ShapeError(
      `no '${EMBEDDING}' parameter: pretrained vectors need input.kind "tokens"`,
    );
  return table;
}

function embeddingWidth(params: Map<string, Float32Array>, capacity: number): number {
  return embeddingTable(params).length / (capacity + 1);
}
