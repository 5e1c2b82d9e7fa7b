import net from 'node:net';

/**
 * A TCP relay to a server on 127.0.0.1 that counts what goes through it and can misbehave as a
 * server or a network does: close a kept-alive connection when its next request arrives, close the
 * idle ones, cut an answer after some bytes.
 */
export interface TcpRelay {
  port: number;
  endpoint: string;
  /** Connections accepted since the start (or the last `reset`). */
  connections: number;
  /** Request lines forwarded to the server. */
  requests: number;
  /** Connections open now. */
  readonly open: number;
  /** Close a connection, unanswered, when a request arrives after its first one (a server's keep-alive timeout hitting then). */
  dropLaterRequests: boolean;
  /** Forward only this many bytes of each connection's answers, then close it. */
  truncateAfter: number | undefined;
  /** Closes the connections open now, as a server closing its idle keep-alive sockets does. */
  closeAll(): void;
  reset(): void;
  close(): Promise<void>;
}

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.[01]\r$/gm;

type Pair = { client: net.Socket; upstream: net.Socket };

/** Closes the client's side cleanly (its last bytes, then FIN), the server's side at once. */
function endClient(pair: Pair, last?: Buffer): void {
  pair.upstream.removeAllListeners('close');
  pair.upstream.removeAllListeners('data');
  pair.upstream.on('error', () => {});
  pair.upstream.destroy();
  if (last) pair.client.end(last);
  else pair.client.end();
}

export async function startTcpRelay(targetPort: number): Promise<TcpRelay> {
  const pairs = new Set<Pair>();
  const server = net.createServer((client) => {
    relay.connections++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    let requestsHere = 0;
    let answered = 0;
    const teardown = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      const lines = d.toString('latin1').match(REQUEST_LINE)?.length ?? 0;
      requestsHere += lines;
      if (relay.dropLaterRequests && requestsHere > 1) return teardown();
      relay.requests += lines;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      const room = relay.truncateAfter === undefined ? Infinity : relay.truncateAfter - answered;
      if (d.length < room) {
        answered += d.length;
        client.write(d);
        return;
      }
      endClient(pair, d.subarray(0, room));
    });
    for (const s of [client, upstream]) {
      s.on('error', teardown);
      s.on('close', teardown);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const relay: TcpRelay = {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    connections: 0,
    requests: 0,
    get open() {
      return pairs.size;
    },
    dropLaterRequests: false,
    truncateAfter: undefined,
    closeAll() {
      for (const p of [...pairs]) {
        pairs.delete(p);
        endClient(p);
      }
    },
    reset() {
      relay.connections = 0;
      relay.requests = 0;
      relay.dropLaterRequests = false;
      relay.truncateAfter = undefined;
    },
    async close() {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return relay;
}
