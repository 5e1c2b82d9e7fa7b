import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

export interface BinaryInfo {
  /** The name asked for (`ffmpeg`, `ffprobe`, `yt-dlp`). */
  name: string;
  /** Absolute path found, or undefined. */
  path: string | undefined;
  /** Where it came from: the override variable, or PATH. */
  origin: 'env' | 'ffmpeg-static' | 'path' | 'missing';
  version?: string;
  error?: string;
}

export interface Binaries {
  ffmpeg: BinaryInfo;
  ffprobe: BinaryInfo;
  ytdlp: BinaryInfo;
}

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** Looks a command up on PATH (what a shell would run), without a shell. */
export function whichSync(command: string, pathVar = process.env.PATH ?? ''): string | undefined {
  if (isAbsolute(command)) return isExecutable(command) ? command : undefined;
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * ffmpeg-static's binary when the application installed that package and its install script
 * produced the file (it downloads from GitHub, so offline installs have none). Resolved from the
 * application's folder; Robian does not depend on it.
 */
export function ffmpegStaticPath(from = process.cwd()): string | undefined {
  try {
    const req = createRequire(join(from, 'package.json'));
    const path = req('ffmpeg-static') as unknown;
    return typeof path === 'string' && isExecutable(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function locate(name: string, override: string | undefined, envName: string, sibling?: string, bundled?: string): BinaryInfo {
  if (override) {
    const found = whichSync(override);
    return found ? { name, path: found, origin: 'env' } : { name, path: undefined, origin: 'missing', error: `${envName}=${override} is not an executable file` };
  }
  if (bundled) return { name, path: bundled, origin: 'ffmpeg-static' };
  if (sibling) {
    const next = join(dirname(sibling), name);
    if (isExecutable(next)) return { name, path: next, origin: 'env' };
  }
  const found = whichSync(name);
  return found ? { name, path: found, origin: 'path' } : { name, path: undefined, origin: 'missing', error: `${name} was not found on PATH; set ${envName}` };
}

function version(info: BinaryInfo, args: string[], pick: (out: string) => string | undefined): Promise<BinaryInfo> {
  if (!info.path) return Promise.resolve(info);
  return new Promise((resolve) => {
    execFile(info.path!, args, { timeout: 10_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) resolve({ ...info, error: `could not run ${info.path}: ${err.message.split('\n')[0]}` });
      else resolve({ ...info, version: pick(stdout) ?? stdout.trim().split('\n')[0] });
    });
  });
}

/**
 * Finds ffmpeg, ffprobe and yt-dlp: FFMPEG_PATH / FFPROBE_PATH / YTDLP_PATH when set (ffprobe is also
 * looked for next to FFMPEG_PATH), else ffmpeg-static's binary for ffmpeg when the application
 * installed it and the binary exists, else the system's binaries on PATH. Runs each once for its version.
 */
export async function findBinaries(options: { ffmpegPath?: string; ffprobePath?: string; ytdlpPath?: string }, known: Partial<Binaries> = {}): Promise<Binaries> {
  const ffmpeg = locate('ffmpeg', options.ffmpegPath, 'FFMPEG_PATH', undefined, options.ffmpegPath ? undefined : ffmpegStaticPath());
  const ffprobe = locate('ffprobe', options.ffprobePath, 'FFPROBE_PATH', options.ffprobePath ? undefined : ffmpeg.origin === 'env' ? ffmpeg.path : undefined);
  const ytdlp = locate('yt-dlp', options.ytdlpPath, 'YTDLP_PATH');
  const ff = (out: string) => /version\s+(\S+)/.exec(out)?.[1];
  // `known`: binaries already found and run (BinaryLocator), not run again
  const [a, b, c] = await Promise.all([
    known.ffmpeg ?? version(ffmpeg, ['-hide_banner', '-version'], ff),
    known.ffprobe ?? version(ffprobe, ['-hide_banner', '-version'], ff),
    known.ytdlp ?? version(ytdlp, ['--version'], (out) => out.trim() || undefined),
  ]);
  return { ffmpeg: a, ffprobe: b, ytdlp: c };
}

const usable = (b: BinaryInfo) => Boolean(b.path && !b.error);

/**
 * The binaries of a running instance. Found at start; while one is missing (installed after the start,
 * PATH fixed, a volume mounted late) it is looked for again when an extraction or `/health/detailed`
 * needs it, at most every `recheckMs` (doubled after each miss, up to 16×), so no restart is needed.
 */
export class BinaryLocator {
  readonly options: Parameters<typeof findBinaries>[0];
  readonly recheckMs: number;
  #current: Binaries;
  #checkedAt = Date.now();
  #delayMs: number;
  #looking: Promise<Binaries> | undefined;

  constructor(found: Binaries, options: Parameters<typeof findBinaries>[0], recheckMs: number) {
    this.#current = found;
    this.options = options;
    this.recheckMs = recheckMs;
    this.#delayMs = recheckMs;
  }

  static async find(options: Parameters<typeof findBinaries>[0], recheckMs: number): Promise<BinaryLocator> {
    return new BinaryLocator(await findBinaries(options), options, recheckMs);
  }

  get current(): Binaries {
    return this.#current;
  }

  get complete(): boolean {
    const b = this.#current;
    return usable(b.ffmpeg) && usable(b.ffprobe) && usable(b.ytdlp);
  }

  /** The binaries, looked for again first when one is missing and the backoff has passed. */
  async refresh(): Promise<Binaries> {
    if (this.complete || Date.now() - this.#checkedAt < this.#delayMs) return this.#current;
    const b = this.#current;
    const known = Object.fromEntries((['ffmpeg', 'ffprobe', 'ytdlp'] as const).filter((k) => usable(b[k])).map((k) => [k, b[k]])) as Partial<Binaries>;
    this.#looking ??= findBinaries(this.options, known)
      .then((found) => {
        this.#current = found;
        this.#checkedAt = Date.now();
        this.#delayMs = this.complete ? this.recheckMs : Math.min(this.#delayMs * 2, this.recheckMs * 16);
        return found;
      })
      .finally(() => {
        this.#looking = undefined;
      });
    return this.#looking;
  }
}
