// What every "Robian inside another server" example must keep working, checked by their tests:
// the host application's own route, Robian's API under the prefix (a read, and an admin write whose
// body must reach Robian unread by the framework), and both real-time endpoints through the same server.
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { ADMIN_KEY } from '@robian/test-support';

export async function checkEmbeddedRobian(base: string, prefix: string, ownGreeting: string): Promise<void> {
  assert.equal(await (await fetch(`${base}/`)).text(), ownGreeting);

  const created = await fetch(`${base}${prefix}/api/debats/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Séance publique : questions au Gouvernement', type: 'question_gouvernement', date: '2026-12-01' }),
  });
  assert.ok(created.status === 200 || created.status === 201, `create answered ${created.status}: ${await created.clone().text()}`);
  const debate = (await created.json()) as { id: string | number; title: string };
  assert.equal(debate.title, 'Séance publique : questions au Gouvernement');

  const list = (await (await fetch(`${base}${prefix}/api/debats/?per_page=5`)).json()) as { total: number; debates: { id: unknown }[] };
  assert.equal(list.total, 1);
  assert.equal(String(list.debates[0]!.id), String(debate.id));
  const missing = await fetch(`${base}${prefix}/nope`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('content-type'), 'application/problem+json');

  // the plain WebSocket protocol, upgraded through the host application's server
  const ws = new WebSocket(`${base.replace('http', 'ws')}${prefix}/ws`);
  const first = await new Promise<{ type: string }>((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as { type: string }));
    ws.once('error', reject);
  });
  ws.close();
  assert.equal(first.type, 'connected');

  // socket.io, first by long-polling (plain requests the framework must not swallow), then upgraded
  const socket = io(base, { path: `${prefix}/socket.io`, transports: ['polling', 'websocket'], reconnection: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    await new Promise<void>((resolve) => {
      if (socket.io.engine.transport.name === 'websocket') return resolve();
      socket.io.engine.once('upgrade', () => resolve());
    });
    assert.equal(socket.io.engine.transport.name, 'websocket');
  } finally {
    socket.close();
  }
}
