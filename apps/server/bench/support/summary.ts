/** The one table printed at the end: every figure of parts 8-13 beside its same-run baseline and its target. */
import { printTable } from './stats';

export interface SummaryRow {
  figure: string;
  fixthread: string;
  baseline: string;
  ratio: string;
  target: string;
  /** undefined: not measurable in this run. */
  met: boolean | undefined;
}

const rows: SummaryRow[] = [];

export function addSummaryRow(row: SummaryRow): void {
  rows.push(row);
}

export function printSummary(): void {
  if (rows.length === 0) return;
  printTable(
    ['figure', 'FixThread', 'baseline', 'ratio', 'target', 'met?'],
    rows.map((r) => [r.figure, r.fixthread, r.baseline, r.ratio, r.target, r.met === undefined ? '-' : r.met ? 'yes' : 'NO']),
    1,
  );
  const judged = rows.filter((r) => r.met !== undefined);
  const missed = judged.filter((r) => r.met === false).length;
  console.log(`  ${judged.length - missed} of ${judged.length} targets met (${missed} missed).`);
}
