import type { Debate } from '../api.ts';
import { day, hour } from '../format.ts';
import { t } from '../i18n.ts';
import { href } from '../router.ts';

export function DebateList({ debates, label }: { debates: Debate[]; label?: string }) {
  if (debates.length === 0) return <p class="muted">{t().none}</p>;
  return (
    <ul class="cards" aria-label={label}>
      {debates.map((d) => (
        <li key={d.id}>
          <DebateCard debate={d} />
        </li>
      ))}
    </ul>
  );
}

export function DebateCard({ debate: d }: { debate: Debate }) {
  const q = t();
  return (
    <article class="card">
      <h3>
        <a href={href('debat', d.id)}>{d.title}</a>
      </h3>
      <p class="meta">
        {d.is_live && <span class="badge live">{q.live}</span>}
        <span>{day(d.date)}</span>
        {hour(d.start_time) && <span>{hour(d.start_time)}</span>}
        <span>{q.types[d.type] ?? d.type}</span>
        {d.committee && <span>{d.committee.short_name ?? d.committee.name}</span>}
        {d.has_audio && !d.is_live && <span class="badge ok">{q.audio}</span>}
      </p>
    </article>
  );
}
