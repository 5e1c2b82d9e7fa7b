import { once } from 'node:events';
import { WebSocket } from 'ws';
import { io as ioClient, type Socket } from 'socket.io-client';
import { PLUGIN_API_VERSION, definePlugin, type EventName, type PluginEvents, type RobianEvents, type PluginContext } from '@robian/core';

export interface Message {
  type: string;
  channel?: string;
  data: Record<string, unknown> & { [k: string]: unknown };
  timestamp: string;
  message_id: string;
}

/** Collects what a client receives and waits for a message matching a predicate. */
export class Inbox {
  readonly messages: Message[] = [];
  readonly #waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  #cursor = 0;

  push(m: Message): void {
    this.messages.push(m);
    for (const w of [...this.#waiters]) {
      if (w.match(m)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  /** The first message matching, among those received since the last `next` returned or later ones. */
  next(match: (m: Message) => boolean, timeoutMs = 5000, what = 'a message'): Promise<Message> {
    const found = this.messages.slice(this.#cursor).find(match);
    if (found) {
      this.#cursor = this.messages.indexOf(found) + 1;
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.map((m) => [m.type, m.channel]))}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (m: Message) => {
          clearTimeout(timer);
          this.#cursor = this.messages.indexOf(m) + 1;
          resolve(m);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  type(type: string, channel?: string, timeoutMs?: number): Promise<Message> {
    return this.next((m) => m.type === type && (channel === undefined || m.channel === channel), timeoutMs, `${type}${channel ? ` on ${channel}` : ''}`);
  }

  of(type: string, channel?: string): Message[] {
    return this.messages.filter((m) => m.type === type && (channel === undefined || m.channel === channel));
  }
}

export interface WsTestClient {
  ws: WebSocket;
  inbox: Inbox;
  send(value: unknown): void;
  /** Sends and waits for the reply (`subscribed`, `unsubscribed`, `pong` or `error`). */
  request(value: Record<string, unknown>): Promise<Message>;
  close(): Promise<void>;
}

let requestSeq = 0;

/**
 * A `/ws` client. It speaks Robian's protocol (`?protocol=robian`) unless `protocol: 'original'`
 * is given: the tests of the richer protocol opt in as any client does.
 */
export async function connectWs(
  baseUrl: string,
  options: { path?: string; headers?: Record<string, string>; autoPong?: boolean; query?: string; protocol?: 'original' | 'robian' } = {},
): Promise<WsTestClient> {
  const query = [(options.protocol ?? 'robian') === 'robian' ? 'protocol=robian' : '', options.query ?? ''].filter(Boolean).join('&');
  const url = `${baseUrl.replace(/^http/, 'ws')}${options.path ?? '/ws'}${query ? `?${query}` : ''}`;
  const ws = new WebSocket(url, { headers: options.headers ?? {}, autoPong: options.autoPong ?? true });
  const inbox = new Inbox();
  ws.on('message', (data) => inbox.push(JSON.parse(String(data)) as Message));
  ws.on('error', () => {});
  await once(ws, 'open');
  await inbox.type('connected');
  return {
    ws,
    inbox,
    send: (value) => ws.send(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value)),
    async request(value) {
      const id = `r${++requestSeq}`;
      ws.send(JSON.stringify({ ...value, id }));
      return inbox.next((m) => m.data?.request_id === id, 5000, `the reply to ${JSON.stringify(value)}`);
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = once(ws, 'close');
      ws.close();
      await closed;
    },
  };
}

export interface IoTestClient {
  socket: Socket;
  inbox: Inbox;
  subscribe(channel: string, token?: string): Promise<Message>;
  unsubscribe(channel: string): Promise<Message>;
  close(): void;
}

export async function connectIo(baseUrl: string, options: { transports?: ('polling' | 'websocket')[]; auth?: Record<string, unknown>; path?: string } = {}): Promise<IoTestClient> {
  const socket = ioClient(baseUrl, {
    transports: options.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(options.path ? { path: options.path } : {}),
    ...(options.auth ? { auth: options.auth } : {}),
  });
  const inbox = new Inbox();
  socket.onAny((_event: string, message: Message) => inbox.push(message));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  await inbox.type('connected');
  return {
    socket,
    inbox,
    subscribe: (channel, token) => socket.timeout(5000).emitWithAck('subscribe', token === undefined ? { channel } : { channel, token }) as Promise<Message>,
    unsubscribe: (channel) => socket.timeout(5000).emitWithAck('unsubscribe', { channel }) as Promise<Message>,
    close: () => {
      socket.disconnect();
    },
  };
}

/** A test plugin that raises events on the bus (plugin-audio's part, for these tests) and may provide a `user` scheme. */
export function busPlugin(options: { users?: Record<string, string> } = {}) {
  let events: PluginEvents | undefined;
  let context: PluginContext | undefined;
  const plugin = definePlugin({
    name: 'test-bus',
    version: '1.0.0',
    apiVersion: PLUGIN_API_VERSION,
    setup(ctx) {
      events = ctx.events;
      context = ctx;
      const users = options.users;
      if (users) {
        ctx.auth.register('user', (koa) => {
          const m = /^Bearer\s+(\S+)$/i.exec(koa.get('authorization'));
          const id = m ? users[m[1]!] : undefined;
          return id ? { kind: 'user', id } : undefined;
        });
      }
    },
  });
  return {
    plugin,
    emit<E extends EventName>(name: E, payload: RobianEvents[E]): Promise<void> {
      if (!events) throw new Error('test-bus not set up');
      return events.emit(name, payload);
    },
    get ctx(): PluginContext {
      if (!context) throw new Error('test-bus not set up');
      return context;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` returns true (polling), or fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
