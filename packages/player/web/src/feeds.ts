// The podcast feeds of what a view lists (plugin-podcast, which `robian serve` loads beside the
// player): a committee's, a deputy's and a search's sittings, the whole catalogue, the committees' OPML.
// Names are those the API takes in /api/commissions/{name}/debats and /api/deputes/{name}/debats.

export const feeds = {
  all: (): string => '/feeds/debats.xml',
  committee: (name: string): string => `/feeds/commissions/${encodeURIComponent(name)}.xml`,
  deputy: (name: string): string => `/feeds/deputes/${encodeURIComponent(name)}.xml`,
  search: (q: string): string => `/feeds/search.xml?${new URLSearchParams({ q: q.trim() })}`,
  committeesOpml: (): string => '/feeds/commissions.opml',
};
