/**
 * Short forms of outside data for error messages: a hostile record can carry a megabyte-long name
 * or a shape of a million dimensions, and an error quoting it whole would be logged for every such
 * record.
 */

/** `text` when it has at most `max` characters, else its start and its length. */
export function abbreviate(text: string, max = 100): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** The items joined with ', ' when at most `max`, else the first `max` and how many there are. */
export function abbreviateList(items: readonly unknown[], max = 10): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')}, … (${items.length} in all)`;
}
