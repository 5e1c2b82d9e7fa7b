// A real browser for the player's tests: Debian's Chromium driven by playwright-core (Playwright's
// own browser download cannot reach its host here), with the flags that keep it off the network.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** Chromium's flags here: no sandbox (root), no GPU, and none of its background connections. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--mute-audio',
  '--font-render-hinting=none',
];

/** Playwright gives every launch a fresh temporary profile (its own --user-data-dir), removed on close. */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

const CONTEXT = { locale: 'fr-FR', timezoneId: 'Europe/Paris', reducedMotion: 'reduce' } as const;

/**
 * A fresh context (its own storage: another device) and page. Service workers are blocked: only the
 * offline test (launchProfile) depends on the cached shell.
 */
export async function newPage(browser: Browser, base: string, viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ ...CONTEXT, viewport, baseURL: base, serviceWorkers: 'block' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

/**
 * Chromium with a profile on disk, removed on close: what it judges only outside incognito contexts
 * (whether the app is installable), with service workers allowed.
 */
export async function launchProfile(base: string, viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page; errors: string[]; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'robian-player-profile-'));
  const context = await chromium.launchPersistentContext(dir, { ...CONTEXT, executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, baseURL: base, serviceWorkers: 'allow' });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AudioState {
  currentTime: number;
  duration: number;
  paused: boolean;
  playbackRate: number;
  readyState: number;
}

export function audioState(page: Page): Promise<AudioState> {
  return page.evaluate(() => {
    const a = (window as unknown as { robianPlayer: { audio: HTMLAudioElement } }).robianPlayer.audio;
    return { currentTime: a.currentTime, duration: a.duration, paused: a.paused, playbackRate: a.playbackRate, readyState: a.readyState };
  });
}

export interface AudioWait extends AudioState {
  seeking: boolean;
}

/** Polls the audio element (from Node, so the page's CSP never sees an eval) until `test` holds. */
export async function waitAudio(page: Page, test: (a: AudioWait) => boolean, what: string, timeout = 10_000): Promise<AudioWait> {
  const end = Date.now() + timeout;
  let last: AudioWait | undefined;
  while (Date.now() < end) {
    last = await page.evaluate(() => {
      const a = (window as unknown as { robianPlayer?: { audio: HTMLAudioElement } }).robianPlayer?.audio;
      return a ? { currentTime: a.currentTime, duration: a.duration, paused: a.paused, playbackRate: a.playbackRate, readyState: a.readyState, seeking: a.seeking } : undefined;
    });
    if (last && test(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`audio never got to ${what}: ${JSON.stringify(last)}`);
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's WCAG 2.0/2.1 A and AA rules on the page as it is; returns the serious and critical violations. */
export async function axe(page: Page): Promise<AxeViolation[]> {
  // through the DevTools protocol, which the page's Content-Security-Policy does not govern
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
