// Terminal formatting shared by the commands: status marks, aligned tables and
// human units. Colour only on a TTY and when NO_COLOR is unset.
const useColour = process.stdout.isTTY === true && !process.env['NO_COLOR'];

function paint(code: number, text: string): string {
  return useColour ? `\x1b[${code}m${text}\x1b[0m` : text;
}

export const green = (t: string) => paint(32, t);
export const red = (t: string) => paint(31, t);
export const yellow = (t: string) => paint(33, t);
export const bold = (t: string) => paint(1, t);
export const dim = (t: string) => paint(2, t);

export function mark(ok: boolean): string {
  return ok ? green('✔') : red('✘');
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i] ?? 0))).join('  '))
    .join('\n');
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)));
}

export function formatRate(perSecond: number, unit: string): string {
  const steps: Array<[number, string]> = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [factor, prefix] of steps) if (perSecond >= factor) return `${(perSecond / factor).toFixed(2)} ${prefix}${unit}`;
  return `${perSecond.toFixed(0)} ${unit}`;
}

export function formatBytes(bytes: number): string {
  const steps: Array<[number, string]> = [[2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  for (const [factor, unit] of steps) if (bytes >= factor) return `${(bytes / factor).toFixed(1)} ${unit}`;
  return `${bytes} B`;
}
