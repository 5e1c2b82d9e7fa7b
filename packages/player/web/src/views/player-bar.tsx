import { usePlayerState, useServices } from '../app.tsx';
import { clock, spokenTime } from '../format.ts';
import { t } from '../i18n.ts';
import { RATES, chapterAt } from '../player.ts';
import { href } from '../router.ts';

const SLEEP_CHOICES = [15, 30, 60] as const;

/** The bar at the bottom: always there, whatever the view, so playback survives navigation. */
export function PlayerBar() {
  const { player } = useServices();
  const s = usePlayerState();
  const q = t();
  const d = s.debate;
  const duration = s.duration || 0;
  const chapter = d ? chapterAt(d.chapters, s.current) : null;
  const timed = d ? d.chapters.filter((c) => c.start_seconds !== null && duration > 0 && c.start_seconds <= duration) : [];
  const sleepValue = s.sleep === null ? '' : s.sleep === 'chapter' ? 'chapter' : 'on';
  return (
    <section class="player" aria-label={q.player}>
      {!d ? (
        <p class="muted now">{q.nothingPlaying}</p>
      ) : (
        <>
          <p class="now">
            <a href={href('debat', d.id)} title={q.openDebate}>
              {d.title}
            </a>
            {chapter && <span class="chapter"> — {chapter.title}</span>}
            {s.live && <span class="badge live">{q.live}</span>}
          </p>
          <div class="controls">
            {!s.live && (
              <button type="button" class="icon" aria-label={q.back15} onClick={() => player.skip(-15)}>
                <span aria-hidden="true">↺15</span>
              </button>
            )}
            <button type="button" class="icon play" aria-label={s.playing ? q.pause : q.play} onClick={() => player.toggle()} data-state={s.playing ? 'playing' : 'paused'}>
              <span aria-hidden="true">{s.playing ? '❚❚' : '▶'}</span>
            </button>
            {!s.live && (
              <button type="button" class="icon" aria-label={q.forward15} onClick={() => player.skip(15)}>
                <span aria-hidden="true">15↻</span>
              </button>
            )}
            {!s.live && (
              <div class="timeline">
                <span class="clock" aria-hidden="true">{clock(s.current)}</span>
                <div class="track">
                  <input
                    type="range"
                    id="seek"
                    aria-label={q.position}
                    min={0}
                    max={Math.max(1, Math.floor(duration))}
                    step={1}
                    value={Math.floor(s.current)}
                    aria-valuetext={`${spokenTime(s.current)} ${q.of} ${spokenTime(duration)}${chapter ? `, ${chapter.title}` : ''}`}
                    onInput={(e) => player.seek(Number((e.target as HTMLInputElement).value))}
                  />
                  <div class="marks" aria-hidden="true">
                    {timed.map((c, i) => (
                      <span key={i} class="mark" style={{ left: `${(c.start_seconds! / duration) * 100}%` }} title={c.title} />
                    ))}
                  </div>
                </div>
                <span class="clock" aria-hidden="true">{clock(duration)}</span>
              </div>
            )}
            <label class="small">
              <span class="visually-hidden">{q.speed}</span>
              <select id="speed" aria-label={q.speed} value={String(s.rate)} onChange={(e) => player.setRate(Number((e.target as HTMLSelectElement).value))}>
                {RATES.map((r) => (
                  <option key={r} value={String(r)}>
                    {`${r}×`}
                  </option>
                ))}
              </select>
            </label>
            <label class="small">
              <span class="visually-hidden">{q.sleep}</span>
              <select
                id="sleep"
                aria-label={q.sleep}
                value={sleepValue}
                onChange={(e) => {
                  const v = (e.target as HTMLSelectElement).value;
                  player.sleep(v === '' ? null : v === 'chapter' ? 'chapter' : Number(v));
                }}
              >
                <option value="">{`☾ ${q.sleepOff}`}</option>
                {typeof s.sleep === 'number' && <option value="on">{`☾ ${q.sleepLeft(clock((s.sleep - Date.now()) / 1000))}`}</option>}
                {SLEEP_CHOICES.map((m) => (
                  <option key={m} value={String(m)}>
                    {`☾ ${q.sleepMin(m)}`}
                  </option>
                ))}
                {!s.live && <option value="chapter">{`☾ ${q.sleepChapter}`}</option>}
              </select>
            </label>
          </div>
          {s.error && (
            <p role="alert" class="error">
              {s.error}
            </p>
          )}
        </>
      )}
    </section>
  );
}
