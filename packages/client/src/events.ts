import { io, type Socket } from 'socket.io-client';
import type { RobianClient } from './client.ts';

/** What every real-time message carries (the original API's envelope). */
export interface RobianMessage<T = Record<string, unknown>> {
  type: string;
  channel?: string | null;
  data: T;
  timestamp: string;
  message_id: string;
}

export interface ExtractionState {
  format: string;
  quality: string;
  status: 'queued' | 'running' | 'ready' | 'completed' | 'failed' | 'cancelled' | 'none';
  /** 0–100. */
  progress: number;
  error?: string;
}

/** The socket.io connection of a host (`WS_SOCKETIO_PATH`, default `/socket.io`), authenticated when a session is given. */
export async function connectEvents(client: RobianClient, options: { path?: string; transports?: ('polling' | 'websocket')[] } = {}): Promise<Socket> {
  const url = new URL(client.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  const token = client.session ? await client.session.accessToken() : undefined;
  const socket = io(url.origin, {
    path: options.path ?? `${prefix}/socket.io`,
    transports: options.transports ?? ['websocket', 'polling'],
    ...(token ? { auth: { token } } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return socket;
}

/** Joins a channel (`debates`, `extractions`, `debate:{id}`, `user:{id}`…) and waits for the server's answer. */
export function subscribe(socket: Socket, channel: string, token?: string): Promise<RobianMessage> {
  return new Promise((resolve, reject) => {
    socket.emit('subscribe', token ? { channel, token } : { channel }, (reply: RobianMessage) => {
      if (reply?.type === 'subscribed') resolve(reply);
      else reject(new Error(`subscribe ${channel}: ${JSON.stringify(reply?.data ?? reply)}`));
    });
  });
}

interface StreamingRendition {
  format: string;
  quality: string;
  status: string;
  progress: number;
  error?: string | null;
}

/**
 * Follows one rendition's extraction to its end, from wherever it is now: it joins the debate's
 * channel first, then reads the current state (`GET /api/debats/{id}/streaming`), so that neither
 * a message sent meanwhile nor one sent before the call is missed — a page reloaded in the middle
 * of an extraction picks its progress up again. Resolves with the final state (`ready`, or
 * `failed`/`cancelled`); `onProgress` sees every state on the way, never going backwards.
 */
export async function watchExtraction(
  client: RobianClient,
  socket: Socket,
  debateId: string | number,
  rendition: { format: string; quality: string },
  onProgress?: (state: ExtractionState) => void,
): Promise<ExtractionState> {
  const id = String(debateId);
  const same = (d: { format?: unknown; quality?: unknown }) => d.format === rendition.format && d.quality === rendition.quality;
  let last: ExtractionState = { ...rendition, status: 'none', progress: 0 };
  let settle!: (s: ExtractionState) => void;
  const done = new Promise<ExtractionState>((resolve) => (settle = resolve));
  const see = (next: ExtractionState) => {
    if (last.status === 'ready' || last.status === 'failed' || last.status === 'cancelled') return;
    if (next.status !== 'failed' && next.status !== 'cancelled' && next.progress < last.progress) next = { ...next, progress: last.progress };
    last = next;
    onProgress?.(next);
    if (next.status === 'ready' || next.status === 'failed' || next.status === 'cancelled') settle(next);
  };
  const handlers: Record<string, (m: RobianMessage) => void> = {
    extraction_started: (m) => same(m.data) && see({ ...rendition, status: 'running', progress: Number(m.data.progress ?? 0) }),
    extraction_progress: (m) => same(m.data) && see({ ...rendition, status: 'running', progress: Number(m.data.progress ?? 0) }),
    extraction_completed: (m) => same(m.data) && see({ ...rendition, status: 'ready', progress: 100 }),
    extraction_failed: (m) => same(m.data) && see({ ...rendition, status: 'failed', progress: last.progress, error: String(m.data.error ?? 'failed') }),
    extraction_cancelled: (m) => same(m.data) && see({ ...rendition, status: 'cancelled', progress: last.progress }),
  };
  for (const [type, handler] of Object.entries(handlers)) socket.on(type, handler);
  try {
    await subscribe(socket, `debate:${id}`);
    const res = await fetch(`${client.baseUrl}/api/debats/${encodeURIComponent(id)}/streaming`, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET /api/debats/${id}/streaming answered ${res.status}`);
    const info = (await res.json()) as { renditions?: StreamingRendition[] };
    const now = info.renditions?.find(same);
    if (now && now.status !== 'none') see({ ...rendition, status: now.status as ExtractionState['status'], progress: now.status === 'ready' ? 100 : now.progress, ...(now.error ? { error: now.error } : {}) });
    return await done;
  } finally {
    for (const [type, handler] of Object.entries(handlers)) socket.off(type, handler);
  }
}
