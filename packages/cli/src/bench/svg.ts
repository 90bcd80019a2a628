// A dependency-free grouped bar chart per bench table, stacked vertically in one SVG.
import type { BenchTable } from './table.js';

const COLOURS = ['#8c8c8c', '#2a7ab9', '#e08a1e', '#3c9b4a'];
const PANEL_W = 720;
const PANEL_H = 220;
const MARGIN = { top: 36, left: 60, bottom: 40 };

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

function panel(t: BenchTable, y0: number): string {
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const plotW = PANEL_W - MARGIN.left - 20;
  const max = Math.max(1e-9, ...t.rows.flatMap((r) => r.values.filter((v): v is number => v != null)));
  const groupW = plotW / Math.max(1, t.rows.length);
  const barW = Math.min(40, (groupW * 0.8) / Math.max(1, t.columns.length));
  const out = [
    `<text x="${MARGIN.left}" y="${y0 + 20}" font-weight="bold">${escapeXml(`${t.title} (${t.unit})`)}</text>`,
    `<line x1="${MARGIN.left}" y1="${y0 + MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${y0 + MARGIN.top + plotH}" stroke="#333"/>`,
  ];
  t.rows.forEach((row, i) => {
    const gx = MARGIN.left + i * groupW + (groupW - barW * t.columns.length) / 2;
    row.values.forEach((v, j) => {
      if (v == null) return;
      const h = (v / max) * plotH;
      const x = gx + j * barW;
      const y = y0 + MARGIN.top + plotH - h;
      out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[j % COLOURS.length]}"><title>${escapeXml(`${t.columns[j]}: ${v}`)}</title></rect>`);
    });
    out.push(`<text x="${(MARGIN.left + i * groupW + groupW / 2).toFixed(1)}" y="${y0 + MARGIN.top + plotH + 16}" text-anchor="middle" font-size="11">${escapeXml(row.label)}</text>`);
  });
  t.columns.forEach((c, j) => {
    out.push(`<rect x="${MARGIN.left + j * 200}" y="${y0 + PANEL_H - 14}" width="10" height="10" fill="${COLOURS[j % COLOURS.length]}"/>`,
      `<text x="${MARGIN.left + j * 200 + 14}" y="${y0 + PANEL_H - 5}" font-size="11">${escapeXml(c)}</text>`);
  });
  return out.join('\n');
}

export function renderSvg(tables: readonly BenchTable[]): string {
  const height = Math.max(1, tables.length) * PANEL_H;
  const panels = tables.map((t, i) => panel(t, i * PANEL_H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL_W}" height="${height}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n${panels}\n</svg>\n`;
}
