import { useEffect, useState } from 'preact/hooks';

// Hash routes (#/debat/12?t=90): the host serves one page at /, and no app path can shadow an API route.
export interface Route {
  name: 'home' | 'debate' | 'search' | 'committees' | 'committee' | 'deputies' | 'deputy' | 'library' | 'date';
  param: string;
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path = '', qs = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  const query = new URLSearchParams(qs);
  const names: Record<string, Route['name']> = { debat: 'debate', recherche: 'search', commissions: 'committees', commission: 'committee', deputes: 'deputies', depute: 'deputy', bibliotheque: 'library', date: 'date' };
  const name = names[parts[0] ?? ''] ?? 'home';
  return { name, param: parts[1] ?? '', query };
}

export function href(name: string, param?: string, query?: Record<string, string>): string {
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  return `#/${name}${param !== undefined ? `/${encodeURIComponent(param)}` : ''}${qs}`;
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else location.hash = to.replace(/^#/, '');
  if (replace) dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
