import { useState } from 'preact/hooks';
import { Status, useLoad, useServices } from '../app.tsx';
import { clock } from '../format.ts';
import { t } from '../i18n.ts';
import { href } from '../router.ts';
import { DebateList } from './cards.tsx';

/** Positions to resume, favorites, collections, and linking another device with a one-time code. */
export function LibraryView() {
  const { api } = useServices();
  const [tick, setTick] = useState(0);
  const { data, error, loading } = useLoad(() => Promise.all([api.positions(), api.favorites(), api.collections()]), [tick]);
  const q = t();
  const [positions, favorites, collections] = data ?? [[], [], []];
  return (
    <>
      <h1>{q.library}</h1>
      <Status loading={loading} error={error} />
      <section aria-labelledby="progress-h">
        <h2 id="progress-h">{q.inProgress}</h2>
        {positions.length === 0 ? (
          <p class="muted">{q.none}</p>
        ) : (
          <ul class="plain">
            {positions.map((p) => (
              <li key={p.debate_id}>
                <a href={href('debat', p.debate_id)}>{p.debate_title}</a> <span class="muted">— {q.resumeAt(clock(p.position_seconds))}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="fav-h">
        <h2 id="fav-h">{q.favorites}</h2>
        <DebateList debates={favorites} />
      </section>
      <section aria-labelledby="col-h">
        <h2 id="col-h">{q.collections}</h2>
        {collections.length === 0 ? (
          <p class="muted">{q.none}</p>
        ) : (
          <ul class="plain">
            {collections.map((c) => (
              <li key={c.id}>
                {c.name} <span class="muted">({c.debate_count})</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <Link onLinked={() => setTick((n) => n + 1)} />
    </>
  );
}

function Link({ onLinked }: { onLinked: () => void }) {
  const { api } = useServices();
  const q = t();
  const [code, setCode] = useState<string | null>(null);
  const [typed, setTyped] = useState('');
  const [message, setMessage] = useState('');
  return (
    <section aria-labelledby="link-h">
      <h2 id="link-h">{q.linkDevice}</h2>
      <p>
        <button type="button" onClick={() => void api.linkCode().then((c) => setCode(c.code), (e: Error) => setMessage(e.message))}>
          {q.getCode}
        </button>
        {code && (
          <span class="code" role="status">
            {q.linkCode} : <strong>{code}</strong>
          </span>
        )}
      </p>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          api.redeem(typed).then(
            () => {
              setMessage(q.linked);
              onLinked();
            },
            (err: Error) => setMessage(err.message),
          );
        }}
      >
        <label for="link-code">{q.haveCode}</label>
        <input id="link-code" value={typed} autocomplete="one-time-code" onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
        <button type="submit">{q.redeem}</button>
      </form>
      <p role="status">{message}</p>
    </section>
  );
}
