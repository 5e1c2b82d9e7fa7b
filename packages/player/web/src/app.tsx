import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api.ts';
import { lang, setLang, t } from './i18n.ts';
import type { Player, PlayerState } from './player.ts';
import { href, navigate, useRoute } from './router.ts';
import { PlayerBar } from './views/player-bar.tsx';
import { HomeView, DateView } from './views/home.tsx';
import { DebateView } from './views/debate.tsx';
import { SearchView } from './views/search.tsx';
import { CommitteesView, DeputiesView, ListView } from './views/browse.tsx';
import { LibraryView } from './views/library.tsx';

export interface Services {
  api: Api;
  player: Player;
}

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error('no services');
  return s;
}

export function usePlayerState(): PlayerState {
  const { player } = useServices();
  const [state, setState] = useState(player.state);
  useEffect(() => player.subscribe(setState), [player]);
  return state;
}

/** Loads data for a view; re-runs when `deps` change. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): { data: T | null; error: string | null; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, error: null, loading: false }),
      (err: Error) => !ctl.signal.aborted && setState({ data: null, error: err.message, loading: false }),
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

export function Status({ loading, error }: { loading: boolean; error: string | null }) {
  if (error) return <p role="alert" class="error">{t().error + error}</p>;
  if (loading) return <p class="muted" aria-live="polite">{t().loading}</p>;
  return null;
}

export function App({ services }: { services: Services }) {
  const route = useRoute();
  const [, rerender] = useState(0);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // a new view: focus moves to its heading, so keyboard and screen-reader users start there
    if (first.current) {
      first.current = false;
      return;
    }
    if (document.activeElement?.id === 'q') return; // typing a search: the focus stays in the box
    const h = main.current?.querySelector<HTMLElement>('h1');
    if (h) {
      h.tabIndex = -1;
      h.focus({ preventScroll: false });
    }
  }, [route.name, route.param]);
  useEffect(() => {
    document.documentElement.lang = lang();
  }, []);
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(navigator.onLine);
    addEventListener('online', on);
    addEventListener('offline', on);
    return () => {
      removeEventListener('online', on);
      removeEventListener('offline', on);
    };
  }, []);
  const q = t();
  const current = (name: string) => (route.name === name ? { 'aria-current': 'page' as const } : {});
  return (
    <ServicesContext.Provider value={services}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>
        {q.skip}
      </a>
      <header class="top">
        <a class="brand" href="#/" aria-label={`${q.appName} — ${q.home}`}>
          <svg aria-hidden="true" width="28" height="28" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#123a6b" /><path d="M9 22V10h7a4 4 0 0 1 0 8h-7m7 0 5 4" stroke="#fff" stroke-width="2.6" fill="none" stroke-linecap="round" /></svg>
          <span>{q.appName}</span>
        </a>
        <SearchBox initial={route.name === 'search' ? (route.query.get('q') ?? '') : ''} />
        <button
          type="button"
          class="lang"
          lang={lang() === 'fr' ? 'en' : 'fr'}
          aria-label={q.languageLabel}
          onClick={() => {
            setLang(lang() === 'fr' ? 'en' : 'fr');
            rerender((n) => n + 1);
          }}
        >
          {q.language}
        </button>
      </header>
      <nav class="tabs" aria-label={q.nav}>
        <a href="#/" {...current('home')}>{q.home}</a>
        <a href={href('commissions')} {...current('committees')}>{q.committees}</a>
        <a href={href('deputes')} {...current('deputies')}>{q.deputies}</a>
        <a href={href('bibliotheque')} {...current('library')}>{q.library}</a>
      </nav>
      {!online && <p class="offline" role="status">{q.offline}</p>}
      <main id="main" ref={main} tabIndex={-1}>
        {route.name === 'home' && <HomeView />}
        {route.name === 'date' && <DateView date={route.param} />}
        {route.name === 'debate' && <DebateView id={route.param} at={route.query.get('t')} />}
        {route.name === 'search' && <SearchView q={route.query.get('q') ?? ''} />}
        {route.name === 'committees' && <CommitteesView />}
        {route.name === 'deputies' && <DeputiesView />}
        {route.name === 'committee' && <ListView kind="commissions" name={route.param} />}
        {route.name === 'deputy' && <ListView kind="deputes" name={route.param} />}
        {route.name === 'library' && <LibraryView />}
      </main>
      <PlayerBar />
    </ServicesContext.Provider>
  );
}

/** Search as you type: the query goes to #/recherche?q=… (replacing the entry while typing). */
function SearchBox({ initial }: { initial: string }) {
  const [value, setValue] = useState(initial);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const sent = useRef(initial);
  // the box follows the address (back/forward, a link), not the echo of what is being typed
  useEffect(() => {
    if (initial !== sent.current) setValue(initial);
    sent.current = initial;
  }, [initial]);
  const q = t();
  const go = (v: string, replace: boolean) => {
    sent.current = v;
    navigate(href('recherche', undefined, { q: v }), replace);
  };
  return (
    <form
      role="search"
      class="search"
      onSubmit={(e) => {
        e.preventDefault();
        go(value, location.hash.startsWith('#/recherche'));
      }}
    >
      <label for="q" class="visually-hidden">{q.searchLabel}</label>
      <input
        id="q"
        type="search"
        autocomplete="off"
        placeholder={q.searchPlaceholder}
        value={value}
        onInput={(e) => {
          const v = (e.target as HTMLInputElement).value;
          setValue(v);
          if (timer.current) clearTimeout(timer.current);
          timer.current = setTimeout(() => go(v, location.hash.startsWith('#/recherche')), 150);
        }}
      />
      <button type="submit">{q.search}</button>
    </form>
  );
}
