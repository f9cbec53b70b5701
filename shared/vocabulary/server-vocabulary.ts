import { ShapeError } from '../errors/index.js';
import { VocabularyAdmission, type AdmissionJson, type AdmissionRules } from './admission.js';
import type { WordCounts } from './word-counts.js';
import type { WordVectorTable } from './word-vectors.js';

/** The name of the input embedding table ([vocabSize + 1, embedding]; the last row is BOS). */
export const EMBEDDING = 'embedding';

/** The vocabulary part of a parameter service's state (checkpoint, parameter file). */
export interface ServerVocabularyJson extends AdmissionJson {
  /** Rows holding a frozen pretrained vector: no update ever changes them. */
  readonly frozenIds: readonly number[];
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
  private readonly frozen = new Set<number>();

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
    for (const id of saved?.frozenIds ?? []) this.frozen.add(id);
  }

  get words(): readonly string[] {
    return this.admission.vocabulary.words();
  }

  /**
   * A fresh server's first step: checks the embedding width against the vectors and gives the
   * file's first `seedWords` words their ids and rows. A restored vocabulary is left as it was.
   */
  initialize(params: Map<string, Float32Array>, { restored }: { restored: boolean }): string[] {
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

  /** Zeroes the frozen rows of a gradient of the embedding (in place). */
  maskFrozen(
    gradient: { readonly shape: readonly number[]; readonly data: Float32Array } | undefined,
  ): void {
    if (gradient === undefined || this.frozen.size === 0) return;
    const width = gradient.shape[1] ?? 0;
    for (const id of this.frozen) gradient.data.fill(0, id * width, (id + 1) * width);
  }

  toJSON(): ServerVocabularyJson {
    return { ...this.admission.toJSON(), frozenIds: [...this.frozen].sort((a, b) => a - b) };
  }

  private placeVectors(
    params: Map<string, Float32Array>,
    words: readonly string[],
    ids: readonly number[],
  ): void {
    if (this.pretrained === undefined) return;
    const table = params.get(EMBEDDING);
    if (table === undefined)
      throw new ShapeError(`no '${EMBEDDING}' parameter to put pretrained vectors in`);
    const width = this.pretrained.table.dimension;
    words.forEach((word, i) => {
      const vector = this.pretrained!.table.vectors.get(word);
      if (vector === undefined) return;
      table.set(vector, ids[i]! * width);
      if (this.pretrained!.freeze) this.frozen.add(ids[i]!);
    });
  }
}

function embeddingWidth(params: Map<string, Float32Array>, capacity: number): number {
  const table = params.get(EMBEDDING);
  if (table === undefined)
    throw new ShapeError(
      `no '${EMBEDDING}' parameter: pretrained vectors need input.kind "tokens"`,
    );
  return table.length / (capacity + 1);
}
