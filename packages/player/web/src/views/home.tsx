import { useState } from 'preact/hooks';
import { Status, useLoad, useServices } from '../app.tsx';
import { day, todayInParis } from '../format.ts';
import { t } from '../i18n.ts';
import { feeds } from '../feeds.ts';
import { href, navigate } from '../router.ts';
import { DebateList } from './cards.tsx';
import { FeedLink } from './feed-link.tsx';

/** Live sittings first, then today's, then the most recent ones; a date picker for any day. */
export function HomeView() {
  const { api } = useServices();
  const today = todayInParis();
  const { data, error, loading } = useLoad(
    () =>
      Promise.all([
        api.debates({ status: 'en_cours', per_page: '10' }),
        api.debates({ date_start: today, date_end: today, sort_order: 'asc', per_page: '20' }),
        api.debates({ per_page: '20' }),
      ]),
    [today],
  );
  const q = t();
  const [live, todays, recent] = data ?? [];
  const shown = new Set([...(live?.debates ?? []), ...(todays?.debates ?? [])].map((d) => d.id));
  return (
    <>
      <h1>{q.tagline}</h1>
      <Status loading={loading} error={error} />
      {live && live.debates.length > 0 && (
        <section aria-labelledby="live-h">
          <h2 id="live-h"><span class="dot" aria-hidden="true" /> {q.live}</h2>
          <DebateList debates={live.debates} />
        </section>
      )}
      {todays && todays.debates.length > 0 && (
        <section aria-labelledby="today-h">
          <h2 id="today-h">{q.today}</h2>
          <DebateList debates={todays.debates.filter((d) => !d.is_live)} />
        </section>
      )}
      <DatePicker />
      {recent && (
        <section aria-labelledby="recent-h">
          <h2 id="recent-h">{q.recent}</h2>
          <DebateList debates={recent.debates.filter((d) => !shown.has(d.id))} />
        </section>
      )}
      <section aria-labelledby="podcasts-h" class="podcasts">
        <h2 id="podcasts-h">{q.podcasts}</h2>
        <p class="muted">{q.podcastsHint}</p>
        <p class="feeds">
          <FeedLink href={feeds.all()} title={q.allFeed} label={q.allFeedLink} />
          <FeedLink href={feeds.committeesOpml()} type="text/x-opml" title={q.committeesOpml} label={q.committeesOpml} />
        </p>
      </section>
    </>
  );
}

function DatePicker({ value = '' }: { value?: string }) {
  const [date, setDate] = useState(value);
  const q = t();
  return (
    <form class="inline" onSubmit={(e) => { e.preventDefault(); if (date) navigate(href('date', date)); }}>
      <label for="date">{q.dateLabel}</label>
      <input id="date" type="date" value={date} onInput={(e) => setDate((e.target as HTMLInputElement).value)} />
      <button type="submit">{q.byDate}</button>
    </form>
  );
}

export function DateView({ date }: { date: string }) {
  const { api } = useServices();
  const valid = /^\d{4}-\d{2}-\d{2}$/.test(date);
  const { data, error, loading } = useLoad(() => (valid ? api.debates({ date_start: date, date_end: date, sort_order: 'asc', per_page: '50' }) : Promise.resolve({ debates: [], total: 0 })), [date]);
  return (
    <>
      <h1>{valid ? day(date) : date}</h1>
      <DatePicker value={date} />
      <Status loading={loading} error={error} />
      {data && <DebateList debates={data.debates} />}
    </>
  );
}
