// `stoq bench --quick` runs the whole suite on a real lab and writes valid JSON,
// Markdown and SVG. Values depend on the machine; the shape and honesty do not:
// every value is a number or null, and as root on the lab veth the eBPF path is measured.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needsRoot, run, STOQ } from './support/run.js';

describe('stoq bench --quick', needsRoot('stoq bench runs on a lab veth with XDP and AF_XDP'), () => {
  it('produces JSON, Markdown and SVG for every table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-bench-test-'));
    try {
      const files = { json: join(dir, 'b.json'), markdown: join(dir, 'b.md'), svg: join(dir, 'b.svg') };
      const { code, stderr } = await run([STOQ, 'bench', '--quick', '--json', files.json, '--markdown', files.markdown, '--svg', files.svg], { timeoutMs: 150_000 });
      expect(code, stderr).toBe(0);
      const result = JSON.parse(readFileSync(files.json, 'utf8'));
      expect(result.environment).toMatchObject({ kernel: expect.any(String), node: process.version, cores: expect.any(Number) });
      expect(result.tables.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining(['packet-rate', 'quic-throughput', 'latency', 'cpu', 'early-drop', 'program-cost', 'ceiling']));
      for (const table of result.tables) {
        for (const row of table.rows) {
          expect(row.values).toHaveLength(table.columns.length);
          for (const v of row.values) expect(v === null || (typeof v === 'number' && Number.isFinite(v))).toBe(true);
        }
      }
      const quic = result.tables.find((t: { id: string }) => t.id === 'quic-throughput');
      expect(quic.rows.every((r: { values: Array<number | null> }) => (r.values[0] ?? 0) > 0)).toBe(true); // the kernel path always runs
      // Root on a veth lab has everything the eBPF path needs: it is measured in every table
      // that has its column, never a null with a "not measured" note.
      const ebpfTables: string[] = [];
      for (const table of result.tables) {
        const column = table.columns.indexOf('eBPF (XDP + AF_XDP)');
        if (column === -1) continue;
        ebpfTables.push(table.id);
        for (const row of table.rows) expect(row.values[column], `${table.id}: ${row.label} (${(table.notes ?? []).join(' ')})`).not.toBeNull();
        expect((table.notes ?? []).join(' ')).not.toMatch(/not measured/);
      }
      expect(ebpfTables).toEqual(['packet-rate', 'quic-throughput', 'latency', 'cpu']);
      expect(result.raw.packetRate.length).toBeGreaterThan(0);
      const markdown = readFileSync(files.markdown, 'utf8');
      expect(markdown).toMatch(/^## STOQ benchmark — \d{4}-\d\d-\d\d \(--quick\)/);
      expect(markdown).toMatch(/\| 64 B received \|/);
      const svg = readFileSync(files.svg, 'utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
      expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThan(result.tables.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 160_000);
});
