/**
 * The doctor's report for people (one line per finding: status, check, what was found, then the
 * fix indented below it) and for programs (one JSON object).
 */
import type { FindingStatus } from './finding.js';
import type { DoctorReport } from './run-doctor.js';

const LABELS: Readonly<Record<FindingStatus, string>> = { ok: 'ok', warn: 'warn', fail: 'FAIL' };

export function renderText(report: DoctorReport): string {
  const width = Math.max(...report.findings.map((f) => f.check.length));
  const indent = ' '.repeat(4 + 2 + width + 2);
  const lines: string[] = [];
  for (const finding of report.findings) {
    const [first, ...rest] = finding.detail.split('\n');
    lines.push(`${LABELS[finding.status].padEnd(4)}  ${finding.check.padEnd(width)}  ${first}`);
    for (const line of rest) lines.push(`${indent}${line}`);
    if (finding.fix !== undefined) lines.push(`${indent}fix: ${finding.fix}`);
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    '',
    report.failures === 0 && report.warnings === 0
      ? 'nothing wrong found'
      : `${plural(report.failures, 'failure')}, ${plural(report.warnings, 'warning')}`,
  );
  return lines.join('\n') + '\n';
}

export function renderJson(report: DoctorReport): string {
  return (
    JSON.stringify({
      ok: report.failures === 0,
      failures: report.failures,
      warnings: report.warnings,
      findings: report.findings,
    }) + '\n'
  );
}
