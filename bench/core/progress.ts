/**
 * Live progress on stderr (stdout carries the table, so it can be piped):
 * current row / total, the row's name, elapsed time and an ETA weighted by
 * each row's expected cost. On a terminal one line is rewritten in place;
 * otherwise (CI logs) one line per row.
 */
export class Progress {
  private done = 0;
  private doneWeight = 0;
  private readonly start = Date.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly total: number,
    private readonly totalWeight: number,
  ) {}

  /** Announces the row about to run. */
  step(label: string): void {
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = this.doneWeight > 0 ? (elapsed / this.doneWeight) * (this.totalWeight - this.doneWeight) : NaN;
    const line = `[${String(this.done + 1).padStart(String(this.total).length)}/${this.total}] ${fmt(elapsed)} elapsed, ETA ${Number.isFinite(eta) ? fmt(eta) : '?'}  ${label}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else process.stderr.write(line + '\n');
  }

  /** Marks the announced row done. */
  finish(weight: number): void {
    this.done++;
    this.doneWeight += weight;
  }

  /** A message that must stay on screen (warnings). */
  note(msg: string): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(msg + '\n');
  }

  end(): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`done: ${this.done} rows in ${fmt((Date.now() - this.start) / 1000)}\n`);
  }
}

function fmt(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}
