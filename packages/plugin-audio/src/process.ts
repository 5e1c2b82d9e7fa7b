import { spawn } from 'node:child_process';
import type { ProcessLedger } from './process-ledger.ts';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last lines FFmpeg / yt-dlp wrote to stderr (their own error messages). */
  stderrTail: string[];
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Called with each complete stdout line (FFmpeg's `-progress pipe:1`). */
  onLine?: (line: string) => void;
  /** Keep stdout in the result (for JSON output). */
  captureStdout?: boolean;
  maxStdoutBytes?: number;
  tailLines?: number;
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Records the child while it runs, so that an instance started after a SIGKILL of this one kills it (process-ledger.ts). */
  ledger?: Pick<ProcessLedger, 'track'> | undefined;
}

/**
 * Runs a binary with an argument array (never a shell). Aborting the signal kills the process
 * (SIGTERM, then SIGKILL after 2 s) and rejects with the signal's reason.
 */
export function run(bin: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { signal, onLine, captureStdout = false, maxStdoutBytes = 16 << 20, tailLines = 12, env, ledger } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      return;
    }
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false, windowsHide: true, ...(env ? { env } : {}) });
    const untrack = ledger?.track(child.pid) ?? (() => {});
    let stdout = '';
    let partial = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
      killTimer.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (captureStdout && stdout.length < maxStdoutBytes) stdout += chunk;
      if (onLine) {
        partial += chunk;
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, nl).trim();
          partial = partial.slice(nl + 1);
          if (line) onLine(line);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > 64_000) stderr = stderr.slice(-32_000);
    });
    child.once('error', (err) => {
      untrack();
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.once('close', (code, sig) => {
      untrack();
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (signal?.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        return;
      }
      const stderrTail = stderr
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(-tailLines);
      resolve({ code, signal: sig, stdout, stderrTail });
    });
  });
}
