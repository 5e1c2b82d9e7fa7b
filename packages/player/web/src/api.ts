// The public HTTP API of a Robian host, as the player reads it. Shapes are read tolerantly: the
// original API's wire contract (ids as strings, `commission` as a name, `speakers` as names, the
// richer objects in fields of their own) and Robian's earlier one (numbers, objects) both work.

export type Id = string;

export interface Committee {
  id: Id;
  name: string;
  short_name: string | null;
  slug: string;
}

export interface Deputy {
  id: Id | null;
  full_name: string;
  slug: string | null;
  political_group: string | null;
  political_group_short: string | null;
  photo_url: string | null;
}

export interface Chapter {
  title: string;
  start_seconds: number | null;
  end_seconds: number | null;
  speaker_name: string | null;
}

export interface AudioFile {
  format: string;
  quality: string;
  duration_seconds: number | null;
}

export interface Debate {
  id: Id;
  title: string;
  description: string | null;
  type: string;
  status: string;
  date: string;
  start_time: string | null;
  duration_minutes: number | null;
  location: string | null;
  agenda_points: string[];
  chapters: Chapter[];
  committee: Committee | null;
  speakers: Deputy[];
  has_audio: boolean;
  is_live: boolean;
  audio_files: AudioFile[];
  thumbnail_url: string | null;
  progress: { position_seconds: number; updated_at?: string } | null;
}

export interface Highlight {
  field: string;
  snippet: string;
}

export interface Moment {
  debate_id: Id;
  start_seconds: number;
  end_seconds: number | null;
  speaker: string | null;
  /** HTML-escaped with <mark> around the matches. */
  snippet: string;
  debate_title?: string;
}

export interface SearchHit {
  debate: Debate;
  highlights: Highlight[];
  moments: Moment[];
}

export interface Segment {
  start_seconds: number;
  end_seconds: number | null;
  speaker: string | null;
  text: string;
}

export interface Rendition {
  format: string;
  quality: string;
  status: string;
  progress: number | null;
}

export interface Streaming {
  audio_available: boolean;
  stream_url: string | null;
  duration_seconds: number | null;
  renditions: Rendition[];
  live_url: string | null;
}

type Json = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);

function committeeOf(raw: Json): Committee | null {
  for (const key of ['committee', 'commission_info', 'commission_details', 'commission']) {
    const c = obj(raw[key]);
    if (c && str(c.name)) return { id: str(c.id) ?? '', name: str(c.name)!, short_name: str(c.short_name), slug: str(c.slug) ?? str(c.id) ?? '' };
  }
  const name = str(raw.commission);
  return name ? { id: str(raw.commission_id) ?? name, name, short_name: null, slug: name } : null;
}

function deputyOf(v: unknown): Deputy | null {
  const s = str(v);
  if (s) return { id: null, full_name: s, slug: null, political_group: null, political_group_short: null, photo_url: null };
  const d = obj(v);
  const name = d && (str(d.full_name) ?? str(d.name));
  if (!d || !name) return null;
  return {
    id: str(d.id),
    full_name: name,
    slug: str(d.slug),
    political_group: str(d.political_group),
    political_group_short: str(d.political_group_short),
    photo_url: str(d.photo_url) ?? str(d.image_url),
  };
}

function speakersOf(raw: Json): Deputy[] {
  for (const key of ['speaker_details', 'deputies', 'speakers_details', 'speakers']) {
    const list = arr(raw[key]);
    if (list.length > 0 && obj(list[0])) return list.map(deputyOf).filter((d): d is Deputy => d !== null);
  }
  return arr(raw.speakers).map(deputyOf).filter((d): d is Deputy => d !== null);
}

export function debateOf(v: unknown): Debate {
  const raw = obj(v) ?? {};
  const progress = obj(raw.progress);
  return {
    id: str(raw.id) ?? '',
    title: str(raw.title) ?? '',
    description: str(raw.description),
    type: str(raw.type) ?? 'autre',
    status: str(raw.status) ?? 'programme',
    date: str(raw.start_time) ?? str(raw.date) ?? '',
    start_time: str(raw.start_time),
    duration_minutes: num(raw.duration_minutes),
    location: str(raw.location),
    agenda_points: arr(raw.agenda_points).map(str).filter((s): s is string => s !== null),
    chapters: arr(raw.chapters)
      .map(obj)
      .filter((c): c is Json => c !== null)
      .map((c) => ({ title: str(c.title) ?? '', start_seconds: num(c.start_seconds), end_seconds: num(c.end_seconds), speaker_name: str(c.speaker_name) })),
    committee: committeeOf(raw),
    speakers: speakersOf(raw),
    has_audio: raw.has_audio === true,
    is_live: raw.is_live === true || raw.status === 'en_cours',
    audio_files: arr(raw.audio_files)
      .map(obj)
      .filter((a): a is Json => a !== null)
      .map((a) => ({ format: str(a.format) ?? '', quality: str(a.quality) ?? '', duration_seconds: num(a.duration_precise_seconds) ?? num(a.duration_seconds) })),
    thumbnail_url: str(raw.thumbnail_url),
    progress: progress && num(progress.position_seconds) !== null ? { position_seconds: num(progress.position_seconds)!, ...(str(progress.updated_at) ? { updated_at: str(progress.updated_at)! } : {}) } : null,
  };
}

function speakerName(m: Json): string | null {
  const s = obj(m.speaker);
  return str(m.speaker_name) ?? (s ? (str(s.full_name) ?? str(s.name)) : str(m.speaker));
}

export function momentOf(v: unknown, debateId?: Id): Moment | null {
  const m = obj(v);
  const start = m && num(m.start_seconds);
  if (!m || start === null) return null;
  return {
    debate_id: str(m.debate_id) ?? debateId ?? '',
    start_seconds: start,
    end_seconds: num(m.end_seconds),
    speaker: speakerName(m),
    snippet: str(m.snippet) ?? str(m.highlight) ?? escapeHtml(str(m.text) ?? ''),
    ...(str(m.debate_title) ? { debate_title: str(m.debate_title)! } : obj(m.debate) ? { debate_title: str(obj(m.debate)!.title) ?? '' } : {}),
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A snippet from the API is escaped text with <mark>: anything else is escaped again. */
export function safeSnippet(html: string): string {
  return html
    .split(/(<\/?mark>)/)
    .map((part) => (part === '<mark>' || part === '</mark>' ? part : part.replace(/<[^>]*>/g, '').replace(/[<>"]/g, (c) => `&#${c.charCodeAt(0)};`)))
    .join('');
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ACCOUNT_KEY = 'robian.account';

interface StoredAccount {
  access_token: string;
  refresh_token: string;
  expires_at: number;
}

/**
 * The HTTP client: JSON in and out, and the listener's device account (created silently on first
 * use, refreshed when its access token expires, replaced when the refresh token is refused).
 */
export class Api {
  #account: StoredAccount | null = null;
  #pending: Promise<StoredAccount> | null = null;

  constructor(private readonly storage: Storage = localStorage) {
    try {
      this.#account = JSON.parse(storage.getItem(ACCOUNT_KEY) ?? 'null') as StoredAccount | null;
    } catch {
      this.#account = null;
    }
  }

  get hasAccount(): boolean {
    return this.#account !== null;
  }

  async json<T = unknown>(path: string, init: RequestInit & { auth?: boolean } = {}): Promise<T> {
    const res = await this.fetch(path, init);
    if (res.status === 204) return undefined as T;
    const body = (await res.json().catch(() => null)) as unknown;
    if (!res.ok) throw new ApiError(res.status, str(obj(body)?.detail) ?? str(obj(body)?.title) ?? res.statusText);
    return body as T;
  }

  async fetch(path: string, init: RequestInit & { auth?: boolean } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('accept', 'application/json');
    if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    if (!init.auth) return fetch(path, { ...init, headers });
    const account = await this.account();
    headers.set('authorization', `Bearer ${account.access_token}`);
    const res = await fetch(path, { ...init, headers });
    if (res.status !== 401) return res;
    const renewed = await this.account(true);
    headers.set('authorization', `Bearer ${renewed.access_token}`);
    return fetch(path, { ...init, headers });
  }

  /** The device account: stored, refreshed, or created (POST /api/auth/device) without asking. */
  account(forceRefresh = false): Promise<StoredAccount> {
    const current = this.#account;
    if (current && !forceRefresh && current.expires_at > Date.now() + 15_000) return Promise.resolve(current);
    this.#pending ??= (async () => {
      try {
        if (current) {
          const res = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: current.refresh_token }) });
          if (res.ok) return this.#store(await res.json());
        }
        const res = await fetch('/api/auth/device', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ device_name: deviceName() }) });
        if (!res.ok) throw new ApiError(res.status, 'device account refused');
        return this.#store(await res.json());
      } finally {
        this.#pending = null;
      }
    })();
    return this.#pending;
  }

  #store(pair: { access_token: string; refresh_token: string; expires_in: number }): StoredAccount {
    this.#account = { access_token: pair.access_token, refresh_token: pair.refresh_token, expires_at: Date.now() + pair.expires_in * 1000 };
    this.storage.setItem(ACCOUNT_KEY, JSON.stringify(this.#account));
    return this.#account;
  }

  /** Redeems another device's link code: this device joins that account. */
  async redeem(code: string): Promise<void> {
    const res = await fetch('/api/auth/link/redeem', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: code.trim(), device_name: deviceName() }) });
    if (!res.ok) throw new ApiError(res.status, 'code refused');
    this.#store(await res.json());
  }

  // --- catalogue ---
  async debates(query: Record<string, string>): Promise<{ debates: Debate[]; total: number }> {
    const body = await this.json<Json>(`/api/debats/?${new URLSearchParams(query)}`);
    return { debates: arr(body.debates).map(debateOf), total: num(body.total) ?? 0 };
  }

  async debate(id: Id): Promise<Debate> {
    return debateOf(await this.json(`/api/debats/${encodeURIComponent(id)}`, { auth: this.hasAccount }));
  }

  async search(q: string, signal?: AbortSignal): Promise<{ hits: SearchHit[]; total: number; moments: Moment[] }> {
    const body = await this.json<Json>(`/api/search?${new URLSearchParams({ q, per_page: '10' })}`, { signal: signal ?? null });
    const hits = arr(body.debates).map((d) => {
      const debate = debateOf(d);
      return {
        debate,
        highlights: arr(obj(d)?.highlights).map((h) => ({ field: str(obj(h)?.field) ?? '', snippet: str(obj(h)?.snippet) ?? '' })),
        moments: arr(obj(d)?.moments).map((m) => momentOf(m, debate.id)).filter((m): m is Moment => m !== null).map((m) => ({ ...m, debate_title: debate.title })),
      };
    });
    return { hits, total: num(body.total) ?? 0, moments: hits.flatMap((h) => h.moments) };
  }

  async committees(): Promise<Committee[]> {
    const body = await this.json<Json>('/api/commissions/?per_page=100&sort_by=debate_count&sort_order=desc');
    return arr(body.commissions).map((c) => committeeOf({ committee: c })).filter((c): c is Committee => c !== null);
  }

  async deputies(): Promise<Deputy[]> {
    const body = await this.json<Json>('/api/deputes/?per_page=100&sort_by=debate_count&sort_order=desc');
    return arr(body.deputes).map(deputyOf).filter((d): d is Deputy => d !== null);
  }

  async debatesOf(kind: 'commissions' | 'deputes', name: string): Promise<{ title: string; debates: Debate[] }> {
    const body = await this.json<Json>(`/api/${kind}/${encodeURIComponent(name)}/debats?per_page=50`);
    const who = obj(body.commission) ?? obj(body.depute) ?? obj(body.deputy) ?? {};
    return { title: str(who.name) ?? str(who.full_name) ?? name, debates: arr(body.debates).map(debateOf) };
  }

  async transcript(id: Id): Promise<Segment[]> {
    const res = await this.fetch(`/api/debats/${encodeURIComponent(id)}/transcript`);
    if (!res.ok) return [];
    const body = (await res.json()) as unknown;
    const list = Array.isArray(body) ? body : arr(obj(body)?.segments);
    return list
      .map(obj)
      .filter((s): s is Json => s !== null && num(s.start_seconds) !== null)
      .map((s) => ({ start_seconds: num(s.start_seconds)!, end_seconds: num(s.end_seconds), speaker: speakerName(s), text: str(s.text) ?? '' }));
  }

  async streaming(id: Id): Promise<Streaming> {
    const body = await this.json<Json>(`/api/debats/${encodeURIComponent(id)}/streaming`);
    return {
      audio_available: body.audio_available === true,
      stream_url: str(body.stream_url),
      duration_seconds: num(body.duration_precise_seconds) ?? num(body.duration_seconds),
      renditions: arr(body.renditions).map((r) => ({ format: str(obj(r)?.format) ?? '', quality: str(obj(r)?.quality) ?? '', status: str(obj(r)?.status) ?? '', progress: num(obj(r)?.progress) })),
      live_url: str(body.live_url) ?? (obj(body.live) ? str(obj(body.live)!.url) : null),
    };
  }

  extract(id: Id): Promise<{ status?: string; progress?: number }> {
    return this.json(`/api/debats/${encodeURIComponent(id)}/extract`, { method: 'POST', body: '{}', auth: true });
  }

  // --- the listener's own space ---
  saveProgress(id: Id, seconds: number): Promise<unknown> {
    return this.json(`/api/me/progress/${encodeURIComponent(id)}`, {
      method: 'PUT',
      auth: true,
      body: JSON.stringify({ position_seconds: Math.max(0, Math.round(seconds * 10) / 10), updated_at: new Date().toISOString() }),
      keepalive: true,
    });
  }

  async positions(): Promise<{ debate_id: Id; position_seconds: number; debate_title: string }[]> {
    const body = await this.json<Json>('/api/me/progress', { auth: true });
    const list = Array.isArray(body) ? body : arr(body.progress ?? body.positions ?? body.items);
    return list.map(obj).filter((p): p is Json => p !== null).map((p) => ({ debate_id: str(p.debate_id) ?? '', position_seconds: num(p.position_seconds) ?? 0, debate_title: str(p.debate_title) ?? '' }));
  }

  async favorites(): Promise<Debate[]> {
    const body = await this.json<Json>('/api/favorites/?per_page=100', { auth: true });
    return arr(body.favorites ?? body.items).map((f) => debateOf(obj(f)?.debate ?? f));
  }

  setFavorite(id: Id, on: boolean): Promise<unknown> {
    return this.json(`/api/favorites/${encodeURIComponent(id)}`, { method: on ? 'POST' : 'DELETE', auth: true, ...(on ? { body: '{}' } : {}) });
  }

  async collections(): Promise<{ id: Id; name: string; debate_count: number }[]> {
    const body = await this.json<Json>('/api/collections/', { auth: true });
    const list = Array.isArray(body) ? body : arr(body.collections ?? body.items);
    return list.map(obj).filter((c): c is Json => c !== null).map((c) => ({ id: str(c.id) ?? '', name: str(c.name) ?? '', debate_count: num(c.debate_count) ?? 0 }));
  }

  async createCollection(name: string): Promise<Id> {
    const body = await this.json<Json>('/api/collections/', { method: 'POST', auth: true, body: JSON.stringify({ name }) });
    return str(body.id) ?? '';
  }

  addToCollection(collection: Id, debate: Id): Promise<unknown> {
    return this.json(`/api/collections/${encodeURIComponent(collection)}/debats/${encodeURIComponent(debate)}`, { method: 'POST', auth: true, body: '{}' });
  }

  async linkCode(): Promise<{ code: string; expires_in: number | null }> {
    const body = await this.json<Json>('/api/auth/link', { method: 'POST', auth: true, body: '{}' });
    return { code: str(body.code) ?? '', expires_in: num(body.expires_in) };
  }
}

function deviceName(): string {
  return `Navigateur (${navigator.platform || 'web'})`.slice(0, 100);
}
