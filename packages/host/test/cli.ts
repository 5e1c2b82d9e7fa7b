import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI's source, run with the workspace's TypeScript sources. */
export const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** Runs `robian <args>` in a child process with only the given environment (and PATH). */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=robian-source', cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
