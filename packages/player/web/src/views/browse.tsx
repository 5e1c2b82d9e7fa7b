import { Status, useLoad, useServices } from '../app.tsx';
import { t } from '../i18n.ts';
import { feeds } from '../feeds.ts';
import { href } from '../router.ts';
import { DebateList } from './cards.tsx';
import { FeedLink } from './feed-link.tsx';

export function CommitteesView() {
  const { api } = useServices();
  const { data, error, loading } = useLoad(() => api.committees(), []);
  return (
    <>
      <h1>{t().committees}</h1>
      <p class="feeds">
        <FeedLink href={feeds.committeesOpml()} type="text/x-opml" title={t().committeesOpml} label={t().committeesOpml} />
      </p>
      <Status loading={loading} error={error} />
      <ul class="plain">
        {(data ?? []).map((c) => (
          <li key={c.id}>
            <a href={href('commission', c.slug || c.id)}>{c.name}</a>
          </li>
        ))}
      </ul>
    </>
  );
}

export function DeputiesView() {
  const { api } = useServices();
  const { data, error, loading } = useLoad(() => api.deputies(), []);
  const q = t();
  return (
    <>
      <h1>{q.deputies}</h1>
      <Status loading={loading} error={error} />
      <ul class="people">
        {(data ?? []).map((d) => (
          <li key={d.id ?? d.full_name}>
            <a href={href('depute', d.slug ?? d.id ?? d.full_name)}>
              {d.photo_url ? <img src={d.photo_url} alt="" width={40} height={40} loading="lazy" /> : <span class="avatar" aria-hidden="true">{initials(d.full_name)}</span>}
              <span>
                {d.full_name}
                {d.political_group_short && <small> · {d.political_group_short}</small>}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </>
  );
}

export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]?.toUpperCase())
    .join('');
}

export function ListView({ kind, name }: { kind: 'commissions' | 'deputes'; name: string }) {
  const { api } = useServices();
  const { data, error, loading } = useLoad(() => api.debatesOf(kind, name), [kind, name]);
  return (
    <>
      <h1>{data?.title ?? name}</h1>
      <p class="feeds">
        <FeedLink href={kind === 'commissions' ? feeds.committee(name) : feeds.deputy(name)} title={data?.title ?? name} />
      </p>
      <Status loading={loading} error={error} />
      {data && <DebateList debates={data.debates} />}
    </>
  );
}
