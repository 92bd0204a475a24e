// Progress of a sweep on stderr: a bar with points done and the ETA on a terminal, otherwise a
// line every `everyMs` (CI logs, nohup). Wall-clock time here is for people only; it never
// reaches a point's results.
import cliProgress from 'cli-progress';

/** Where progress goes. */
export interface ProgressIo {
  readonly err: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

function eta(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Progress over `total` points of which `already` were done before this run. */
export class SweepProgress {
  private done: number;
  private readonly started = performance.now();
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(private readonly name: string, private readonly total: number, private readonly already: number, private readonly io: ProgressIo, everyMs = 10_000, enabled = true) {
    this.done = already;
    if (enabled && io.err.isTTY && !io.env.CI) {
      this.bar = new cliProgress.SingleBar({
        stream: io.err, format: `${name} {bar} {value}/{total} points | ETA {eta_formatted} | {where}`, hideCursor: true, clearOnComplete: true, fps: 5, etaBuffer: 20,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(total, already, { where: '' });
    } else if (enabled) {
      this.timer = setInterval(() => this.line(), everyMs);
      this.timer.unref();
    }
  }

  /** The periodic line: points done, rate and ETA. */
  line(where = ''): void {
    const ran = this.done - this.already;
    const ms = performance.now() - this.started;
    const left = this.total - this.done;
    const est = ran > 0 ? eta((ms / ran) * left) : '?';
    this.io.err.write(`sweep ${this.name}: ${this.done}/${this.total} points${this.already > 0 ? ` (${this.already} from before)` : ''}, ETA ${est}${where === '' ? '' : `, ${where}`}\n`);
  }

  /** One more point done. */
  tick(where = ''): void {
    this.done++;
    this.bar?.update(this.done, { where });
  }

  stop(): void {
    this.bar?.stop();
    if (this.timer) clearInterval(this.timer);
  }
}
