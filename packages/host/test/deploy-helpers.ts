import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository's deploy/ folder. */
export const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));

export function run(bin: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

