// Renders bench tables as Markdown, with the ratio of the eBPF path to the baseline.
import { ratio, type BenchTable } from './table.js';

function cell(value: number | null): string {
  if (value == null) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toFixed(digits);
}

function formatRatio(r: number | null): string {
  return r == null ? 'n/a' : `${r.toFixed(2)}×`;
}

export function renderMarkdown(tables: readonly BenchTable[], header: string): string {
  const parts = [header];
  for (const t of tables) {
    const modes = Object.entries(t.modes).map(([k, v]) => `${k}: ${v}`).join('; ');
    parts.push(`### ${t.title} (${t.unit}, ${t.higherIsBetter ? 'higher' : 'lower'} is better)`, '');
    if (modes) parts.push(`Modes observed: ${modes}`, '');
    // One column (a cost, a ceiling): nothing to compare, so no ratio column.
    const compared = t.columns.length > 1;
    parts.push(`| | ${t.columns.join(' | ')} |${compared ? ' ratio |' : ''}`, `|---|${t.columns.map(() => '---:').join('|')}|${compared ? '---:|' : ''}`);
    for (const row of t.rows) {
      const r = row.compared === false ? '—' : formatRatio(ratio(t, row.values));
      parts.push(`| ${row.label} | ${row.values.map(cell).join(' | ')} |${compared ? ` ${r} |` : ''}`);
    }
    for (const note of t.notes ?? []) parts.push('', `> ${note}`);
    parts.push('');
  }
  return parts.join('\n');
}
