import { Status, useLoad, useServices } from '../app.tsx';
import { safeSnippet, type Moment } from '../api.ts';
import { spokenTime } from '../format.ts';
import { feeds } from '../feeds.ts';
import { t } from '../i18n.ts';
import { href, navigate } from '../router.ts';
import { FeedLink } from './feed-link.tsx';
import { playDebate } from './play.ts';

/** Results as you type: moments inside transcripts first (they start playback there), then debates. */
export function SearchView({ q: query }: { q: string }) {
  const services = useServices();
  const { data, error, loading } = useLoad((signal) => (query.trim() ? services.api.search(query, signal) : Promise.resolve(null)), [query]);
  const q = t();
  const open = async (m: Moment) => {
    await playDebate(services, m.debate_id, m.start_seconds);
    navigate(href('debat', m.debate_id));
  };
  return (
    <>
      <h1>{query ? `${q.search} : « ${query} »` : q.search}</h1>
      <Status loading={loading} error={error} />
      {data && (
        <div class="count">
          <p class="muted" role="status">
            {q.results(data.total)}
          </p>
          <FeedLink href={feeds.search(query)} title={q.searchFeed(query.trim())} />
        </div>
      )}
      {data && data.moments.length > 0 && (
        <section aria-labelledby="moments-h">
          <h2 id="moments-h">{q.moments}</h2>
          <ul class="moments">
            {data.moments.map((m) => (
              <li key={`${m.debate_id}-${m.start_seconds}`}>
                <button type="button" class="moment" onClick={() => void open(m)}>
                  <span class="who">{q.momentAt(m.speaker ?? '—', spokenTime(m.start_seconds))}</span>
                  <span class="quote">
                    « <span dangerouslySetInnerHTML={{ __html: safeSnippet(m.snippet) }} /> »
                  </span>
                  {m.debate_title && <span class="from">{m.debate_title}</span>}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {data && data.hits.length > 0 && (
        <section aria-labelledby="debates-h">
          <h2 id="debates-h">{q.debates}</h2>
          <ul class="cards">
            {data.hits.map(({ debate, highlights }) => (
              <li key={debate.id}>
                <article class="card">
                  <h3>
                    <a href={href('debat', debate.id)} dangerouslySetInnerHTML={{ __html: safeSnippet(highlights.find((h) => h.field === 'title')?.snippet ?? debate.title.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)) }} />
                  </h3>
                  {highlights
                    .filter((h) => h.field !== 'title')
                    .slice(0, 2)
                    .map((h) => (
                      <p class="snippet" key={h.field} dangerouslySetInnerHTML={{ __html: safeSnippet(h.snippet) }} />
                    ))}
                </article>
              </li>
            ))}
          </ul>
        </section>
      )}
      {data && data.total === 0 && data.moments.length === 0 && <p>{q.noResults}</p>}
    </>
  );
}
