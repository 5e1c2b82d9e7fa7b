import type { EntityManager, PluginContext } from '@robian/core';

interface Pending {
  debateId: number;
  day: string;
  plays: number;
  listenedSeconds: number;
}

const FLUSH_MS = 30_000;
const COMMITTEES_KEPT = 10_000;

/**
 * Plays and listening time: counted per committee in Prometheus (`robian_audio_plays_total`,
 * `robian_audio_listened_seconds_total`) and per debate and UTC day in `audio_play_daily`. A play is a
 * response that sends bytes from offset 0 (a player starting); every response adds the seconds of
 * audio it carries (bytes × duration ÷ size), so seeks and resumes count what they send. Rows are
 * written in batches (every 30 s and at stop), one upsert per debate and day: a crash loses at most
 * the last batch, never writes half of one.
 */
export class PlayLog {
  readonly #ctx: PluginContext;
  readonly #plays: ReturnType<PluginContext['metrics']['counter']>;
  readonly #listened: ReturnType<PluginContext['metrics']['counter']>;
  readonly #pending = new Map<string, Pending>();
  readonly #committees = new Map<number, string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(ctx: PluginContext) {
    this.#ctx = ctx;
    this.#plays = ctx.metrics.counter({ name: 'robian_audio_plays_total', help: 'Plays (responses sending audio from its first byte), by committee slug ("none" without one)', labelNames: ['committee'] });
    this.#listened = ctx.metrics.counter({ name: 'robian_audio_listened_seconds_total', help: 'Seconds of audio sent to listeners (bytes sent × duration ÷ size), by committee slug', labelNames: ['committee'] });
    const log = this;
    ctx.metrics.gauge({
      name: 'robian_audio_top_debate_plays',
      help: 'Plays over the last 7 days of the 10 most played debates (audio_play_daily)',
      labelNames: ['debate_id', 'title'],
      async collect() {
        const rows = await log.top(7, 10).catch(() => []);
        this.reset();
        for (const r of rows) this.set({ debate_id: String(r.debate_id), title: r.title.slice(0, 120) }, r.plays);
      },
    });
  }

  em(): EntityManager {
    return this.#ctx.orm.em.fork() as unknown as EntityManager;
  }

  start(): void {
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** One response of the audio route sent `length` bytes from `start` of a file of `size` bytes. */
  record(debateId: number, durationSeconds: number | null, sent: { start: number; length: number; size: number }): void {
    const play = sent.start === 0 ? 1 : 0;
    const seconds = durationSeconds && sent.size > 0 ? (sent.length / sent.size) * durationSeconds : 0;
    const day = new Date().toISOString().slice(0, 10);
    const key = `${debateId}|${day}`;
    const p = this.#pending.get(key) ?? { debateId, day, plays: 0, listenedSeconds: 0 };
    p.plays += play;
    p.listenedSeconds += seconds;
    this.#pending.set(key, p);
    void this.#committee(debateId).then((committee) => {
      if (play) this.#plays.inc({ committee }, play);
      if (seconds > 0) this.#listened.inc({ committee }, seconds);
    });
  }

  async #committee(debateId: number): Promise<string> {
    const known = this.#committees.get(debateId);
    if (known !== undefined) return known;
    let slug = 'none';
    try {
      const [row] = await this.em()
        .getConnection()
        .execute<{ slug: string | null }[]>('select c.slug from debate d left join commission c on c.id = d.commission_id where d.id = ?', [debateId]);
      slug = row?.slug ?? 'none';
    } catch {
      return 'none';
    }
    if (this.#committees.size >= COMMITTEES_KEPT) this.#committees.clear();
    this.#committees.set(debateId, slug);
    return slug;
  }

  /** Writes what is pending (one upsert per debate and day). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (!this.#pending.size) return;
      const batch = [...this.#pending.values()];
      this.#pending.clear();
      const conn = this.em().getConnection();
      for (const p of batch) {
        try {
          await conn.execute(
            'insert into audio_play_daily (debate_id, day, plays, listened_seconds) values (?, ?, ?, ?) ' +
              'on conflict (debate_id, day) do update set plays = audio_play_daily.plays + excluded.plays, listened_seconds = audio_play_daily.listened_seconds + excluded.listened_seconds',
            [p.debateId, p.day, p.plays, p.listenedSeconds],
          );
        } catch (err) {
          // a debate deleted meanwhile (foreign key) or the database away: this batch's row is dropped
          this.#ctx.logger.warn({ err, debate: p.debateId }, 'could not record plays');
        }
      }
    });
    return this.#flushing;
  }

  /** The most played debates over the last `days` days. */
  async top(days: number, limit: number): Promise<{ debate_id: number; title: string; plays: number; listened_seconds: number }[]> {
    const since = new Date(Date.now() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
    const rows = await this.em()
      .getConnection()
      .execute<{ debate_id: number; title: string; plays: number | string; listened_seconds: number | string }[]>(
        'select p.debate_id, d.title, sum(p.plays) as plays, sum(p.listened_seconds) as listened_seconds from audio_play_daily p join debate d on d.id = p.debate_id ' +
          'where p.day >= ? group by p.debate_id, d.title order by sum(p.plays) desc, p.debate_id limit ?',
        [since, limit],
      );
    return rows.map((r) => ({ debate_id: Number(r.debate_id), title: r.title, plays: Number(r.plays), listened_seconds: Number(r.listened_seconds) }));
  }
}
