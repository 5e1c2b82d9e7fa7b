import { useEffect } from 'preact/hooks';
import { t } from '../i18n.ts';

/**
 * "Subscribe (podcast)": a link to the view's RSS feed (or the committees' OPML), for the listener's podcast app, and the same
 * feed announced in the page's head (`<link rel="alternate">`) while the view shows, for browsers and
 * extensions that discover feeds.
 */
export function FeedLink({ href, title, label, type = 'application/rss+xml' }: { href: string; title: string; label?: string; type?: 'application/rss+xml' | 'text/x-opml' }) {
  useEffect(() => {
    const link = document.createElement('link');
    link.rel = 'alternate';
    link.type = type;
    link.title = title;
    link.href = href;
    document.head.append(link);
    return () => link.remove();
  }, [href, title, type]);
  return (
    <a class="feed" href={href} type={type}>
      <svg aria-hidden="true" width="14" height="14" viewBox="0 0 16 16"><circle cx="3" cy="13" r="2" fill="currentColor" /><path d="M2 7a7 7 0 0 1 7 7M2 2a12 12 0 0 1 12 12" stroke="currentColor" stroke-width="2" fill="none" /></svg>
      {label ?? t().subscribe}
    </a>
  );
}
