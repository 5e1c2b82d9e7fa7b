#!/usr/bin/env node
// Run before the test suite (pnpm test): fail at once, naming what to install, instead of 70 tests
// failing one by one and some waiting out their 300 s timeout.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

const which = (cmd) => {
  if (isAbsolute(cmd)) return ok(cmd) ? cmd : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && ok(join(dir, cmd))) return join(dir, cmd);
  return undefined;
};
function ok(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
const wanted = [
  ['ffmpeg', process.env.FFMPEG_PATH ?? 'ffmpeg', 'FFMPEG_PATH'],
  ['ffprobe', process.env.FFPROBE_PATH ?? 'ffprobe', 'FFPROBE_PATH'],
  ['yt-dlp', process.env.YTDLP_PATH ?? 'yt-dlp', 'YTDLP_PATH'],
];
const missing = wanted.filter(([, cmd]) => !which(cmd));
if (missing.length) {
  console.error(
    `The test suite needs ${missing.map(([n]) => n).join(', ')}, not found (PATH, or ${missing.map(([, , v]) => v).join(' / ')}).\n` +
      'Install them first: sudo apt-get install ffmpeg yt-dlp   (macOS: brew install ffmpeg yt-dlp)',
  );
  process.exit(1);
}
