import { renderValue } from '../errors/render-value.js';
import { ConfigError, InputError } from '../errors/index.js';

export type LabelValue = string | number;

/** Checkpoint form of a LabelRegistry. */
export interface LabelRegistryJson {
  readonly labels: LabelValue[];
  readonly declared: boolean;
  readonly maxLabels: number;
}

/**
 * Class ids for tag / classify labels. With declared labels (task.labels) the ids are their
 * positions and any other label is an error; without, labels get the next id in order of first
 * appearance until maxLabels. Strings and numbers are different labels (`3` is not `"3"`), since a
 * producer that mixes them most likely means different things.
 */
export class LabelRegistry {
  readonly maxLabels: number;
  readonly declared: boolean;
  private readonly list: LabelValue[] = [];
  private readonly strings = new Map<string, number>();
  private readonly numbers = new Map<number, number>();

  constructor({ labels, maxLabels }: { labels?: readonly LabelValue[]; maxLabels: number }) {
    if (!Number.isSafeInteger(maxLabels) || maxLabels < 1) {
      throw new ConfigError(
        `task.maxLabels = ${maxLabels}: expected a positive integer (fix: set task.maxLabels, e.g. 64)`,
      );
    }
    this.maxLabels = maxLabels;
    this.declared = labels !== undefined;
    if (labels === undefined) return;
    if (labels.length > maxLabels) {
      throw new ConfigError(
        `task.labels declares ${labels.length} labels, more than task.maxLabels = ${maxLabels} (fix: raise task.maxLabels)`,
      );
    }
    for (const label of labels) {
      checkLabelType(label, undefined);
      if (this.find(label) !== undefined) {
        throw new ConfigError(
          `task.labels declares ${renderValue(label)} twice (fix: remove the duplicate)`,
        );
      }
      this.add(label);
    }
  }

  /** Number of labels known (declared, or discovered so far). */
  get size(): number {
    return this.list.length;
  }

  /** The labels in id order. */
  get labels(): readonly LabelValue[] {
    return this.list;
  }

  /** The class id of a label, registering it when labels are discovered. */
  idOf(label: LabelValue, { line }: { line?: number } = {}): number {
    checkLabelType(label, line);
    const known = this.find(label);
    if (known !== undefined) return known;
    if (this.declared) {
      const other = typeof label === 'number' ? String(label) : Number(label);
      const twin = this.find(other) !== undefined;
      throw new InputError({
        line,
        reason:
          `label ${renderValue(label)} is not one of the declared task.labels ${renderValue(this.list, { maxChars: 200 })}` +
          (twin
            ? ` (${renderValue(other)} is declared: numbers and strings are different labels)`
            : ''),
        fix: 'correct the label, or add it to task.labels',
      });
    }
    if (this.list.length >= this.maxLabels) {
      throw new InputError({
        line,
        reason: `label ${renderValue(label)} would be distinct label number ${this.list.length + 1}, more than maxLabels = ${this.maxLabels}`,
        fix: 'raise task.maxLabels or declare task.labels',
      });
    }
    return this.add(label);
  }

  /** The label of a class id, or undefined when no label has that id (yet). */
  labelOf(id: number): LabelValue | undefined {
    return this.list[id];
  }

  toJSON(): LabelRegistryJson {
    return { labels: [...this.list], declared: this.declared, maxLabels: this.maxLabels };
  }

  static fromJSON(json: LabelRegistryJson): LabelRegistry {
    if (json.declared) return new LabelRegistry({ labels: json.labels, maxLabels: json.maxLabels });
    const registry = new LabelRegistry({ maxLabels: json.maxLabels });
    for (const label of json.labels) registry.idOf(label);
    return registry;
  }

  private find(label: LabelValue): number | undefined {
    return typeof label === 'string' ? this.strings.get(label) : this.numbers.get(label);
  }

  private add(label: LabelValue): number {
    const id = this.list.length;
    this.list.push(label);
    if (typeof label === 'string') this.strings.set(label, id);
    else this.numbers.set(label, id);
    return id;
  }
}

function checkLabelType(label: unknown, line: number | undefined): void {
  if (
    (typeof label === 'string' && label !== '') ||
    (typeof label === 'number' && Number.isSafeInteger(label))
  )
    return;
  throw new InputError({
    line,
    reason: `label ${renderValue(label)} is not a non-empty string or an integer`,
    fix: 'send class labels as strings or integers (arrays are forecast targets, for task.type "forecast")',
  });
}
