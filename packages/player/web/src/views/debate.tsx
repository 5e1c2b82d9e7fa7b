import { useEffect, useRef, useState } from 'preact/hooks';
import { Status, useLoad, usePlayerState, useServices } from '../app.tsx';
import type { Debate, Segment } from '../api.ts';
import { clock, day, hour, spokenTime } from '../format.ts';
import { t } from '../i18n.ts';
import { chapterAt } from '../player.ts';
import { href } from '../router.ts';
import { initials } from './browse.tsx';
import { playDebate } from './play.ts';

export function DebateView({ id, at }: { id: string; at: string | null }) {
  const { api } = useServices();
  const { data, error, loading, reload } = useLoad(() => Promise.all([api.debate(id), api.transcript(id).catch(() => [] as Segment[])]), [id]);
  const q = t();
  // one h1 from loading to loaded: the focus a navigation gave it stays there
  if (!data) {
    return (
      <article class="debate">
        <h1>{q.loading}</h1>
        <Status loading={loading} error={error} />
      </article>
    );
  }
  const [debate, segments] = data;
  return (
    <article class="debate">
      <h1>{debate.title}</h1>
      <p class="meta">
        {debate.is_live && <span class="badge live">{q.live}</span>}
        <span>{day(debate.date)}</span>
        {hour(debate.start_time) && <span>{hour(debate.start_time)}</span>}
        <span>{q.types[debate.type] ?? debate.type}</span>
        {debate.committee && <a href={href('commission', debate.committee.slug || debate.committee.id)}>{debate.committee.name}</a>}
        {debate.location && <span>{debate.location}</span>}
      </p>
      {debate.description && <p>{debate.description}</p>}
      <AudioPanel debate={debate} at={at === null ? undefined : Number(at)} onReady={reload} />
      <Personal debate={debate} />
      {debate.chapters.length > 0 && <Chapters debate={debate} />}
      {debate.speakers.length > 0 && (
        <section aria-labelledby="speakers-h">
          <h2 id="speakers-h">{q.speakers}</h2>
          <ul class="people">
            {debate.speakers.map((s) => (
              <li key={s.id ?? s.full_name}>
                <a href={href('depute', s.slug ?? s.id ?? s.full_name)}>
                  {s.photo_url ? <img src={s.photo_url} alt="" width={40} height={40} loading="lazy" /> : <span class="avatar" aria-hidden="true">{initials(s.full_name)}</span>}
                  <span>
                    {s.full_name}
                    {s.political_group_short && <small> · {s.political_group_short}</small>}
                  </span>
                </a>
              </li>
            ))}
          </ul>
        </section>
      )}
      {debate.agenda_points.length > 0 && (
        <section aria-labelledby="agenda-h">
          <h2 id="agenda-h">{q.agenda}</h2>
          <ol>
            {debate.agenda_points.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ol>
        </section>
      )}
      {segments.length > 0 && <Transcript debate={debate} segments={segments} />}
    </article>
  );
}

/** What can be heard: play / resume, or request the extraction and follow it live. */
function AudioPanel({ debate, at, onReady }: { debate: Debate; at: number | undefined; onReady: () => void }) {
  const services = useServices();
  const state = usePlayerState();
  const q = t();
  const [job, setJob] = useState<{ progress: number; status: string } | null>(debate.status === 'extraction' ? { progress: 0, status: 'queued' } : null);
  const stop = useRef<(() => void) | null>(null);
  useEffect(() => () => stop.current?.(), []);
  const isCurrent = state.debate?.id === debate.id;

  const finish = () => {
    setJob({ progress: 100, status: 'ready' });
    stop.current?.();
    stop.current = null;
    onReady();
  };
  const request = async () => {
    setJob({ progress: 0, status: 'queued' });
    stop.current?.();
    const unwatch = await (
      await import('../live.ts')
    ).watchDebate(debate.id, (e) => {
      if (e.type === 'extraction_completed') finish();
      else if (e.type === 'extraction_failed' || e.type === 'extraction_cancelled') setJob((j) => ({ progress: j?.progress ?? 0, status: 'failed' }));
      else setJob((j) => (j?.status === 'ready' ? j : { progress: Math.max(j?.progress ?? 0, e.progress ?? 0), status: 'running' }));
    });
    // a message missed while the socket connects is caught by a slow look at /streaming
    const poll = setInterval(() => {
      services.api.streaming(debate.id).then((s) => s.audio_available && finish(), () => undefined);
    }, 4000);
    stop.current = () => {
      clearInterval(poll);
      unwatch();
    };
    try {
      const answer = await services.api.extract(debate.id);
      if (answer.status === 'completed' || answer.status === 'ready') finish();
    } catch {
      setJob({ progress: 0, status: 'failed' });
    }
  };

  const progress = job && (
    job.status === 'failed' ? (
      <p role="alert" class="error">{q.extractionFailed}</p>
    ) : (
      <div class="extract">
        <label for="extract-progress">{q.extracting}</label>
        <progress id="extract-progress" max={100} value={job.progress} aria-valuetext={`${Math.round(job.progress)} %`} />
        <span aria-live="polite" class="pct">{Math.round(job.progress)} %</span>
      </div>
    )
  );

  if (debate.is_live) {
    return (
      <section class="audio" aria-labelledby="audio-h">
        <h2 id="audio-h">{q.audioLive}</h2>
        <button type="button" class="primary" onClick={() => void playDebate(services, debate.id, undefined, debate)}>
          {q.listenLive}
        </button>
      </section>
    );
  }
  const saved = debate.progress?.position_seconds ?? 0;
  return (
    <section class="audio" aria-labelledby="audio-h">
      <h2 id="audio-h">{debate.has_audio ? q.audioReady : q.audioNone}</h2>
      {progress}
      {debate.has_audio ? (
        <p class="actions">
          {!isCurrent && (
            <button type="button" class="primary" onClick={() => void playDebate(services, debate.id, at, debate)}>
              {at !== undefined ? q.jumpTo(spokenTime(at)) : saved > 5 ? q.resumeAt(clock(saved)) : q.listen}
            </button>
          )}
          {isCurrent && (
            <button type="button" class="primary" onClick={() => services.player.toggle()}>
              {state.playing ? q.pause : q.play}
            </button>
          )}
        </p>
      ) : (
        !job && (
          <p class="actions">
            <button type="button" class="primary" onClick={() => void request()}>
              {q.requestAudio}
            </button>
          </p>
        )
      )}
    </section>
  );
}

function Chapters({ debate }: { debate: Debate }) {
  const services = useServices();
  const state = usePlayerState();
  const q = t();
  const isCurrent = state.debate?.id === debate.id;
  const active = isCurrent ? chapterAt(debate.chapters, state.current) : null;
  const jump = async (s: number) => {
    if (isCurrent) {
      services.player.seek(s);
      void services.player.play();
    } else await playDebate(services, debate.id, s, debate);
  };
  return (
    <section aria-labelledby="chapters-h">
      <h2 id="chapters-h">{q.chapters}</h2>
      <ol class="chapters">
        {debate.chapters.map((c, i) => (
          <li key={i} class={c === active ? 'active' : ''}>
            {c.start_seconds !== null && debate.has_audio ? (
              <button type="button" aria-current={c === active ? 'true' : undefined} onClick={() => void jump(c.start_seconds!)}>
                <span class="time">{clock(c.start_seconds)}</span> {c.title}
              </button>
            ) : (
              <span>
                <span class="time muted">{c.start_seconds !== null ? clock(c.start_seconds) : q.untimed}</span> {c.title}
              </span>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Transcript({ debate, segments }: { debate: Debate; segments: Segment[] }) {
  const services = useServices();
  const state = usePlayerState();
  const q = t();
  const isCurrent = state.debate?.id === debate.id;
  let activeIndex = -1;
  if (isCurrent) for (let i = 0; i < segments.length; i++) if (segments[i]!.start_seconds <= state.current) activeIndex = i;
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    if (activeIndex < 0) return;
    const el = list.current?.children[activeIndex] as HTMLElement | undefined;
    const box = list.current;
    if (!el || !box) return;
    const reduce = matchMedia('(prefers-reduced-motion: reduce)').matches;
    box.scrollTo({ top: el.offsetTop - box.offsetTop - box.clientHeight / 3, behavior: reduce ? 'auto' : 'smooth' });
  }, [activeIndex]);
  const jump = async (s: number) => {
    if (isCurrent) {
      services.player.seek(s);
      void services.player.play();
    } else await playDebate(services, debate.id, s, debate);
  };
  return (
    <section aria-labelledby="transcript-h">
      <h2 id="transcript-h">{q.transcript}</h2>
      <ol class="transcript" ref={list} tabIndex={-1}>
        {segments.map((s, i) => (
          <li key={i} class={i === activeIndex ? 'active' : ''}>
            <button type="button" aria-current={i === activeIndex ? 'true' : undefined} onClick={() => void jump(s.start_seconds)} disabled={!debate.has_audio}>
              <span class="time">{clock(s.start_seconds)}</span>
              {s.speaker && <strong>{s.speaker} : </strong>}
              {s.text}
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** Favorite toggle and "add to a collection", on the listener's silent device account. */
function Personal({ debate }: { debate: Debate }) {
  const { api } = useServices();
  const q = t();
  const [favorite, setFavorite] = useState<boolean | null>(null);
  const [collections, setCollections] = useState<{ id: string; name: string }[]>([]);
  const [chosen, setChosen] = useState('');
  const [name, setName] = useState('');
  const [done, setDone] = useState('');
  useEffect(() => {
    if (!api.hasAccount) {
      setFavorite(false);
      return;
    }
    api.favorites().then((f) => setFavorite(f.some((d) => d.id === debate.id)), () => setFavorite(false));
    api.collections().then(setCollections, () => setCollections([]));
  }, [debate.id]);
  const toggle = async () => {
    const on = !favorite;
    setFavorite(on);
    try {
      await api.setFavorite(debate.id, on);
    } catch {
      setFavorite(!on);
    }
  };
  const add = async (e: Event) => {
    e.preventDefault();
    let target = chosen;
    if (!target && name.trim()) {
      target = await api.createCollection(name.trim());
      setCollections(await api.collections());
      setName('');
    }
    if (!target) return;
    await api.addToCollection(target, debate.id);
    setDone(q.added);
  };
  return (
    <section class="personal" aria-label={q.library}>
      <button type="button" class="fav" aria-pressed={favorite === true} onClick={() => void toggle()} disabled={favorite === null}>
        <span aria-hidden="true">{favorite ? '★' : '☆'}</span> {favorite ? q.removeFavorite : q.addFavorite}
      </button>
      <form class="inline" onSubmit={(e) => void add(e)}>
        <label for="collection">{q.addToCollection}</label>
        <select id="collection" value={chosen} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
          <option value="">{q.newCollection}</option>
          {collections.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        {!chosen && (
          <>
            <label for="collection-name" class="visually-hidden">{q.collectionName}</label>
            <input id="collection-name" value={name} placeholder={q.collectionName} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </>
        )}
        <button type="submit">{q.add}</button>
        <span role="status">{done}</span>
      </form>
    </section>
  );
}
