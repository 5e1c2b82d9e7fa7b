import type { Api, Chapter, Debate } from './api.ts';

export interface PlayerState {
  debate: Debate | null;
  /** The audio's URL (a rendition, or the live relay). */
  src: string | null;
  live: boolean;
  playing: boolean;
  loading: boolean;
  current: number;
  duration: number;
  rate: number;
  /** Wall-clock time (ms) the sleep timer pauses at, or 'chapter' for the end of the current chapter. */
  sleep: number | 'chapter' | null;
  error: string | null;
}

export const RATES = [0.75, 1, 1.25, 1.5, 1.75, 2] as const;
const NOW_PLAYING = 'robian.nowPlaying';
const RATE_KEY = 'robian.rate';
const SAVE_EVERY_MS = 5000;

/**
 * The one audio element of the app and its state. It lives outside the views, so playback goes on
 * while the listener browses; views subscribe to its state. Positions are saved to the listener's
 * account (PUT /api/me/progress) while playing, on pause, on seek and when the page is hidden.
 */
export class Player {
  readonly audio: HTMLAudioElement;
  #state: PlayerState;
  readonly #listeners = new Set<(s: PlayerState) => void>();
  #lastSave = 0;
  #sleepTimer: ReturnType<typeof setInterval> | null = null;
  #hls: { destroy(): void } | null = null;

  constructor(private readonly api: Api) {
    this.audio = new Audio();
    this.audio.preload = 'metadata';
    const rate = Number(localStorage.getItem(RATE_KEY));
    this.#state = { debate: null, src: null, live: false, playing: false, loading: false, current: 0, duration: 0, rate: RATES.includes(rate as never) ? rate : 1, sleep: null, error: null };
    const a = this.audio;
    a.addEventListener('timeupdate', () => {
      this.#set({ current: a.currentTime });
      if (this.#state.playing && Date.now() - this.#lastSave > SAVE_EVERY_MS) void this.save();
      if (this.#state.sleep === 'chapter') this.#checkChapterSleep();
      this.#positionState();
    });
    a.addEventListener('durationchange', () => this.#set({ duration: Number.isFinite(a.duration) ? a.duration : this.#state.duration }));
    a.addEventListener('play', () => {
      this.#set({ playing: true, error: null });
      this.#playbackState('playing');
    });
    a.addEventListener('playing', () => this.#set({ loading: false }));
    a.addEventListener('waiting', () => this.#set({ loading: true }));
    a.addEventListener('pause', () => {
      this.#set({ playing: false });
      this.#playbackState('paused');
      void this.save();
    });
    a.addEventListener('seeked', () => void this.save());
    a.addEventListener('ratechange', () => this.#set({ rate: a.playbackRate }));
    a.addEventListener('error', () => this.#set({ playing: false, loading: false, error: a.error?.message || 'media error' }));
    addEventListener('pagehide', () => void this.save());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') void this.save();
    });
    this.#mediaSession();
  }

  get state(): PlayerState {
    return this.#state;
  }

  subscribe(fn: (s: PlayerState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #set(patch: Partial<PlayerState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const fn of this.#listeners) fn(this.#state);
  }

  /** Loads a debate's rendition and starts at `at` seconds (its saved position when not given). */
  async load(debate: Debate, src: string, options: { at?: number; autoplay?: boolean; live?: boolean } = {}): Promise<void> {
    const same = this.#state.src === src;
    if (!same) {
      await this.save();
      this.#hls?.destroy();
      this.#hls = null;
      this.#set({ debate, src, live: options.live === true, current: options.at ?? 0, duration: (debate.audio_files[0]?.duration_seconds ?? 0) || (debate.duration_minutes ?? 0) * 60, error: null, loading: true });
      // live: hls.js wherever Media Source Extensions exist (Chromium's own HLS cannot parse the relay's
      // segments), the browser's own HLS elsewhere (iPhone Safari, which has no MediaSource)
      if (options.live && typeof MediaSource !== 'undefined') await this.#attachHls(src);
      else this.audio.src = src;
      this.audio.playbackRate = this.#state.rate;
      localStorage.setItem(NOW_PLAYING, JSON.stringify({ id: debate.id, src, live: options.live === true }));
    } else {
      this.#set({ debate });
    }
    const at = options.at ?? (same ? undefined : debate.progress?.position_seconds);
    if (at !== undefined && !options.live) await this.#seekWhenReady(at);
    this.#metadata();
    if (options.autoplay !== false) await this.play();
    else this.#set({ loading: false });
  }

  async #attachHls(src: string): Promise<void> {
    // browsers without native HLS: the relay's playlist through a small MSE player, loaded on demand
    const { attachHls } = await import('./hls.ts');
    this.#hls = await attachHls(this.audio, src);
  }

  #seekWhenReady(at: number): Promise<void> {
    const a = this.audio;
    if (a.readyState >= 1) {
      a.currentTime = at;
      this.#set({ current: at });
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        a.removeEventListener('loadedmetadata', done);
        a.removeEventListener('error', done);
        if (a.readyState >= 1) a.currentTime = at;
        this.#set({ current: at });
        resolve();
      };
      a.addEventListener('loadedmetadata', done);
      a.addEventListener('error', done);
      if (a.preload === 'none') a.load();
    });
  }

  async play(): Promise<void> {
    try {
      await this.audio.play();
    } catch (err) {
      this.#set({ playing: false, loading: false, error: (err as Error).name === 'NotAllowedError' ? null : String((err as Error).message) });
    }
  }

  pause(): void {
    this.audio.pause();
  }

  toggle(): void {
    if (this.audio.paused) void this.play();
    else this.pause();
  }

  seek(seconds: number): void {
    if (this.#state.live) return;
    const d = this.#state.duration || this.audio.duration || 0;
    const t = Math.max(0, d > 0 ? Math.min(seconds, d - 0.1) : seconds);
    this.audio.currentTime = t;
    this.#set({ current: t });
  }

  skip(delta: number): void {
    this.seek(this.audio.currentTime + delta);
  }

  setRate(rate: number): void {
    this.audio.playbackRate = rate;
    localStorage.setItem(RATE_KEY, String(rate));
    this.#set({ rate });
  }

  /** Pauses after `minutes`, at the end of the current chapter ('chapter'), or never (null). */
  sleep(minutes: number | 'chapter' | null): void {
    if (this.#sleepTimer) clearInterval(this.#sleepTimer);
    this.#sleepTimer = null;
    if (minutes === null || minutes === 'chapter') {
      this.#set({ sleep: minutes });
      return;
    }
    const at = Date.now() + minutes * 60_000;
    this.#set({ sleep: at });
    this.#sleepTimer = setInterval(() => {
      if (Date.now() >= at) {
        this.pause();
        this.sleep(null);
      } else this.#set({});
    }, 1000);
  }

  currentChapter(): Chapter | null {
    return chapterAt(this.#state.debate?.chapters ?? [], this.#state.current);
  }

  #checkChapterSleep(): void {
    const chapters = this.#state.debate?.chapters ?? [];
    const now = chapterAt(chapters, this.#state.current);
    const next = chapters.find((c) => c.start_seconds !== null && c.start_seconds > this.#state.current);
    const end = now?.end_seconds ?? next?.start_seconds ?? null;
    if (end !== null && this.#state.current >= end - 0.25) {
      this.pause();
      this.sleep(null);
    }
  }

  async save(): Promise<void> {
    const { debate, live } = this.#state;
    if (!debate || live || this.audio.readyState < 1) return;
    this.#lastSave = Date.now();
    try {
      await this.api.saveProgress(debate.id, this.audio.currentTime);
    } catch {
      /* offline: the next save carries the position */
    }
  }

  /** After a reload: the debate that was playing, paused at its saved position. */
  async restore(fetchDebate: (id: string) => Promise<Debate>): Promise<void> {
    const saved = readJson<{ id: string; src: string; live: boolean }>(NOW_PLAYING);
    if (!saved || saved.live || this.#state.src) return;
    try {
      const debate = await fetchDebate(saved.id);
      await this.load(debate, saved.src, { autoplay: false, ...(debate.progress ? { at: debate.progress.position_seconds } : {}) });
    } catch {
      localStorage.removeItem(NOW_PLAYING);
    }
  }

  #metadata(): void {
    const d = this.#state.debate;
    if (!('mediaSession' in navigator) || !d) return;
    navigator.mediaSession.metadata = new MediaMetadata({ title: d.title, artist: d.committee?.name ?? 'Assemblée nationale', album: 'Robian', artwork: [{ src: '/icon.svg', sizes: 'any', type: 'image/svg+xml' }] });
  }

  /** What the lock screen's play/pause button shows. */
  #playbackState(state: MediaSessionPlaybackState): void {
    if ('mediaSession' in navigator) navigator.mediaSession.playbackState = state;
  }

  #positionState(): void {
    const { duration, current, rate, live } = this.#state;
    if (!('mediaSession' in navigator) || live || !(duration > 0) || current > duration) return;
    try {
      navigator.mediaSession.setPositionState({ duration, position: current, playbackRate: rate });
    } catch {
      /* some browsers refuse while the metadata loads */
    }
  }

  #mediaSession(): void {
    if (!('mediaSession' in navigator)) return;
    const ms = navigator.mediaSession;
    const handlers: [MediaSessionAction, MediaSessionActionHandler][] = [
      ['play', () => void this.play()],
      ['pause', () => this.pause()],
      ['seekbackward', (d) => this.skip(-(d.seekOffset ?? 15))],
      ['seekforward', (d) => this.skip(d.seekOffset ?? 15)],
      ['seekto', (d) => d.seekTime !== undefined && this.seek(d.seekTime)],
      ['previoustrack', () => this.#chapterJump(-1)],
      ['nexttrack', () => this.#chapterJump(1)],
    ];
    for (const [action, fn] of handlers) {
      try {
        ms.setActionHandler(action, fn);
      } catch {
        /* action not supported here */
      }
    }
  }

  #chapterJump(direction: 1 | -1): void {
    const timed = (this.#state.debate?.chapters ?? []).filter((c) => c.start_seconds !== null);
    const t = this.audio.currentTime;
    const target = direction > 0 ? timed.find((c) => c.start_seconds! > t + 1) : [...timed].reverse().find((c) => c.start_seconds! < t - 3);
    this.seek(target?.start_seconds ?? (direction > 0 ? t : 0));
  }
}

export function chapterAt(chapters: Chapter[], t: number): Chapter | null {
  let found: Chapter | null = null;
  for (const c of chapters) if (c.start_seconds !== null && c.start_seconds <= t) found = c;
  return found;
}

function readJson<T>(key: string): T | null {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null') as T | null;
  } catch {
    return null;
  }
}
