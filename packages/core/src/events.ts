import type { Logger } from './logger.ts';
import type { ImportCompletedEvent } from './source.ts';

/**
 * The events of the core bus. Plugins add their own by declaration merging:
 *
 * ```ts
 * declare module '@robian/core' {
 *   interface RobianEvents { 'extraction.progress': { debateId: number; percent: number } }
 * }
 * ```
 */
export interface RobianEvents {
  'debate.created': { debate: Record<string, unknown> };
  'debate.updated': { debate: Record<string, unknown>; previousStatus?: string };
  'debate.deleted': { id: number; debate?: Record<string, unknown> };
  'system.status': { status: 'starting' | 'ready' | 'stopping' | 'degraded'; detail?: string };
  /** An import wrote to the catalogue (source plugins raise it; caches of lists and searches drop). */
  'import.completed': ImportCompletedEvent;
  /** Extraction jobs (plugin-audio raises them, plugin-ws forwards them). */
  'extraction.started': ExtractionEvent;
  'extraction.progress': ExtractionEvent & { progress: number };
  'extraction.completed': ExtractionEvent & { file_size?: number; duration_seconds?: number };
  'extraction.failed': ExtractionEvent & { error: string };
  'extraction.cancelled': ExtractionEvent;
  /**
   * A debate's transcript of `source` was written or removed (`segments: 0`; `source: null` when all
   * of the debate's transcripts went). Raised by `replaceTranscript` / `deleteTranscript` when given the bus.
   */
  'transcript.updated': { debate_id: number; source: string | null; segments: number };
}

/** The common part of every extraction event (snake_case, as sent to clients). */
export interface ExtractionEvent {
  extraction_id: string | number;
  debate_id: number;
  format: string;
  quality: string;
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  progress?: number;
}

export type EventName = keyof RobianEvents & string;
export type EventHandler<E extends EventName> = (payload: RobianEvents[E], meta: EventMeta<E>) => void | Promise<void>;
export type AnyEventHandler = (name: EventName, payload: unknown, meta: EventMeta<EventName>) => void | Promise<void>;

export interface EventMeta<E extends EventName = EventName> {
  name: E;
  /** The plugin that emitted the event, or `core`. */
  emitter: string;
  /** Milliseconds since the epoch at emission. */
  at: number;
}

interface Listener {
  owner: string;
  handler: (payload: unknown, meta: EventMeta) => void | Promise<void>;
}

export type Disposer = () => void;

/**
 * A typed, in-process event bus. Handlers are isolated: an error (or rejection) in one is logged
 * with its owner and does not stop the others nor reach the emitter.
 */
export class EventBus {
  readonly #listeners = new Map<string, Listener[]>();
  readonly #any: Listener[] = [];
  readonly #logger: Logger;
  #errors = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Handler errors since start (exported in /health/detailed). */
  get handlerErrors(): number {
    return this.#errors;
  }

  on<E extends EventName>(name: E, handler: EventHandler<E>, owner = 'core'): Disposer {
    const listener: Listener = { owner, handler: handler as Listener['handler'] };
    const list = this.#listeners.get(name) ?? [];
    list.push(listener);
    this.#listeners.set(name, list);
    return () => {
      const current = this.#listeners.get(name);
      if (!current) return;
      const i = current.indexOf(listener);
      if (i >= 0) current.splice(i, 1);
    };
  }

  /** Listens to every event (bridges such as plugin-ws use this). */
  onAny(handler: AnyEventHandler, owner = 'core'): Disposer {
    const listener: Listener = { owner, handler: (payload, meta) => handler(meta.name, payload, meta) };
    this.#any.push(listener);
    return () => {
      const i = this.#any.indexOf(listener);
      if (i >= 0) this.#any.splice(i, 1);
    };
  }

  listenerCount(name?: EventName): number {
    if (name) return this.#listeners.get(name)?.length ?? 0;
    let n = this.#any.length;
    for (const l of this.#listeners.values()) n += l.length;
    return n;
  }

  /**
   * Delivers an event to its handlers. The returned promise settles when every handler has
   * finished; it never rejects. Callers on a request path may leave it unawaited.
   */
  async emit<E extends EventName>(name: E, payload: RobianEvents[E], emitter = 'core'): Promise<void> {
    const meta: EventMeta = { name, emitter, at: Date.now() };
    const targets = [...(this.#listeners.get(name) ?? []), ...this.#any];
    if (targets.length === 0) return;
    await Promise.all(
      targets.map(async (l) => {
        try {
          await l.handler(payload, meta);
        } catch (err) {
          this.#errors++;
          this.#logger.error({ err, event: name, plugin: l.owner }, 'event handler failed');
        }
      }),
    );
  }
}
