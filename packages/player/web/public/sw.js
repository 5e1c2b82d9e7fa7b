// Robian's offline shell: the page and its hashed assets are cached; the API and audio never are
// (they go to the network, and a failed API call shows the app's offline notice).
const SHELL = 'robian-shell-v1';
/** Cached with the page and served like it (network first): the manifest and the icon the page names. */
const TOP_FILES = ['/manifest.webmanifest', '/icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      const page = await fetch(new Request('/', { headers: { accept: 'text/html' } }));
      const html = await page.clone().text();
      await cache.put('/', page);
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
      await cache.addAll([...new Set([...assets, ...TOP_FILES])]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== SHELL) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if ((req.mode === 'navigate' && url.pathname === '/') || TOP_FILES.includes(url.pathname)) {
    // network first (a new version shows at once), the cached shell when offline
    event.respondWith(
      fetch(req)
        .then(async (res) => {
          if (res.ok) await (await caches.open(SHELL)).put(url.pathname, res.clone());
          return res;
        })
        .catch(async () => (await caches.match(url.pathname)) ?? Response.error()),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/')) {
    // content-hashed names: cache first, forever
    event.respondWith(
      caches.match(req).then(
        (hit) =>
          hit ??
          fetch(req).then(async (res) => {
            if (res.ok) await (await caches.open(SHELL)).put(req, res.clone());
            return res;
          }),
      ),
    );
  }
});
