/** Where progress goes: stderr in the CLI (a terminal gets a bar, a pipe or a file gets lines). */
export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

export interface ProgressReporter {
  update(event: { phase: string; done: number; total?: number }): void;
  end(): void;
}

/** A progress bar on a terminal, plain log lines (at each phase and every 10 %) otherwise. */
export function progressReporter(stream: ProgressStream): ProgressReporter {
  const tty = stream.isTTY === true;
  let lastLine = '';
  let lastPercent = -1;
  let lastPhase = '';
  let drawn = false;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return {
    update({ phase, done, total }) {
      const percent = total ? Math.min(100, Math.floor((done / total) * 100)) : undefined;
      const amount = phase === 'download' ? `${mb(done)}${total ? ` / ${mb(total)}` : ''}` : `${done}${total ? `/${total}` : ''} files`;
      if (tty) {
        const width = 30;
        const filled = percent === undefined ? 0 : Math.round((percent / 100) * width);
        const line = `${phase.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent === undefined ? '  ?' : String(percent).padStart(3)}% ${amount}`;
        if (line !== lastLine) {
          stream.write(`\r${line}\u001b[K`);
          lastLine = line;
          drawn = true;
        }
        return;
      }
      // plain lines: at each phase change and every 10 %
      const step = percent === undefined ? -1 : Math.floor(percent / 10);
      if (phase !== lastPhase || (step > lastPercent && step >= 0)) {
        stream.write(`${new Date().toISOString()} ${phase}: ${amount}${percent === undefined ? '' : ` (${percent}%)`}\n`);
        lastPhase = phase;
        lastPercent = step;
      }
    },
    end() {
      if (tty && drawn) stream.write('\n');
    },
  };
}
