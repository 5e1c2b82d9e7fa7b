// Screenshots of the main screens, kept as test artefacts and compared with committed references.
// Update the references deliberately: `pnpm --filter @robian/player screenshots:update`
// (ROBIAN_UPDATE_SCREENSHOTS=1), then look at the new PNGs before committing them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';
import type { Page } from 'playwright-core';

export const REFERENCES = fileURLToPath(new URL('./screenshots/', import.meta.url));
/** Where every run writes its screenshots (and the diff images of those that differ): not committed. */
export const ARTEFACTS = process.env.ROBIAN_TEST_ARTEFACTS ?? fileURLToPath(new URL('../test-artefacts/', import.meta.url));
export const UPDATE = process.env.ROBIAN_UPDATE_SCREENSHOTS === '1';
/** A pixel differs when its colour distance exceeds this (pixelmatch's 0–1 scale, anti-aliasing ignored). */
const PIXEL_THRESHOLD = 0.15;
/** A screenshot matches its reference when at most this share of its pixels differ. */
export const MAX_DIFF_RATIO = 0.01;

export interface Comparison {
  name: string;
  ratio: number;
  updated: boolean;
  reason?: string;
}

export async function capture(page: Page, name: string): Promise<Comparison> {
  mkdirSync(ARTEFACTS, { recursive: true });
  const buffer = await page.screenshot({ animations: 'disabled', caret: 'hide', scale: 'css' });
  const file = `${name}.png`;
  writeFileSync(join(ARTEFACTS, file), buffer);
  const reference = join(REFERENCES, file);
  if (UPDATE || !existsSync(reference)) {
    if (!UPDATE) return { name, ratio: 1, updated: false, reason: `no reference ${reference}: run the update command` };
    mkdirSync(REFERENCES, { recursive: true });
    writeFileSync(reference, buffer);
    return { name, ratio: 0, updated: true };
  }
  const actual = PNG.sync.read(buffer);
  const expected = PNG.sync.read(readFileSync(reference));
  if (actual.width !== expected.width || actual.height !== expected.height) {
    return { name, ratio: 1, updated: false, reason: `size ${actual.width}x${actual.height}, reference ${expected.width}x${expected.height}` };
  }
  const diff = new PNG({ width: actual.width, height: actual.height });
  const differing = pixelmatch(actual.data, expected.data, diff.data, actual.width, actual.height, { threshold: PIXEL_THRESHOLD });
  const ratio = differing / (actual.width * actual.height);
  if (ratio > MAX_DIFF_RATIO) writeFileSync(join(ARTEFACTS, `${name}.diff.png`), PNG.sync.write(diff));
  return { name, ratio, updated: false };
}
