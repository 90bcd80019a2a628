// A one-line progress bar on stderr for a TTY; plain periodic lines otherwise, so
// logs of non-interactive runs stay readable.
import { formatBytes, formatRate } from '../format.js';

export class ProgressBar {
  private lastPlainPrint = 0;
  private readonly started = performance.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    const elapsed = (performance.now() - this.started) / 1000;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const rate = elapsed > 0 ? (done * 8) / elapsed : 0;
    const text = `${this.label} ${formatBytes(done)} / ${formatBytes(this.total)}  ${formatRate(rate, 'bit/s')}`;
    if (this.stream.isTTY) {
      const width = 30;
      const filled = Math.round(fraction * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${text}   `);
    } else if (performance.now() - this.lastPlainPrint > 1000 || fraction === 1) {
      this.lastPlainPrint = performance.now();
      this.stream.write(`${(fraction * 100).toFixed(0).padStart(3)}%  ${text}\n`);
    }
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
