/**
 * The hosts media may be fetched from, with their ports. An entry is a name (`videos.example.org`),
 * a domain and its subdomains (`*.example.org`), either with a port (`media.example.org:8443`) or
 * with any port (`127.0.0.1:*`). An entry without a port allows the default ports only (80, 443):
 * `videos.assemblee-nationale.fr:8771` is not the same origin as `videos.assemblee-nationale.fr`.
 */
export class HostAllowList {
  readonly #entries: { host: string; suffix: boolean; port: number | '*' | undefined }[] = [];

  constructor(entries: string[]) {
    for (const raw of entries) {
      const e = raw.trim().toLowerCase();
      if (!e) continue;
      const parsed = splitHostPort(e);
      if (!parsed) continue;
      const suffix = parsed.host.startsWith('*.');
      this.#entries.push({ host: suffix ? parsed.host.slice(1) : parsed.host, suffix, port: parsed.port });
    }
  }

  /** True when a host (name or IP literal, brackets allowed) and port match an entry. */
  allowsOrigin(hostname: string, port: number): boolean {
    const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    return this.#entries.some((e) => {
      const hostOk = e.suffix ? host.endsWith(e.host) || host === e.host.slice(1) : host === e.host;
      if (!hostOk) return false;
      if (e.port === '*') return true;
      if (e.port === undefined) return port === 80 || port === 443;
      return port === e.port;
    });
  }

  /** http(s) URLs only, compared by host and port (the scheme's default port when none is written). */
  allows(url: URL): boolean {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    return this.allowsOrigin(url.hostname, portOf(url));
  }

  list(): string[] {
    return this.#entries.map((e) => `${e.suffix ? '*' : ''}${e.host.includes(':') ? `[${e.host}]` : e.host}${e.port === undefined ? '' : `:${e.port}`}`);
  }
}

export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** `host`, `host:port`, `host:*`, `[v6]`, `[v6]:port`; undefined when malformed. */
export function splitHostPort(value: string): { host: string; port: number | '*' | undefined } | undefined {
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}|\*))?$/i.exec(value);
  if (v6) return { host: v6[1]!, port: portValue(v6[2]) };
  const m = /^([^:[\]]+)(?::(\d{1,5}|\*))?$/.exec(value);
  if (!m) return undefined;
  const port = portValue(m[2]);
  if (typeof port === 'number' && (port < 1 || port > 65535)) return undefined;
  return { host: m[1]!, port };
}

const portValue = (p: string | undefined): number | '*' | undefined => (p === undefined ? undefined : p === '*' ? '*' : Number(p));
