import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonBody, ifNoneMatch } from '@robian/core';

describe('JsonBody (cached answers as bytes)', () => {
  it('keeps the serialized value, its UTF-8 bytes and a strong ETag that changes with the value', () => {
    const body = JsonBody.of({ id: '12', title: 'Séance : « réforme » & co' });
    assert.equal(body.bytes.toString('utf8'), body.json);
    assert.equal(body.bytes.length, Buffer.byteLength(body.json), 'bytes, not UTF-16 code units');
    assert.equal(body.bytes, body.bytes, 'encoded once');
    assert.match(body.etag, /^"[A-Za-z0-9_-]+"$/);
    assert.notEqual(JsonBody.of({ id: '13' }).etag, JsonBody.of({ id: '12' }).etag);
  });

  it('survives a cache that stores plain JSON (Redis): the same bytes and ETag after revive', () => {
    const body = JsonBody.of({ debates: [{ id: '1' }], total: 1 });
    const revived = JsonBody.revive(JSON.parse(JSON.stringify(body)) as { json: string; etag: string });
    assert.equal(revived.json, body.json);
    assert.equal(revived.etag, body.etag);
    assert.equal(JsonBody.revive(body), body);
  });

  it('appends per-caller fields after the cache, with their own ETag', () => {
    const body = JsonBody.of({ id: '1' });
    const mine = body.withFields({ progress: { position_seconds: 12 }, skipped: undefined });
    assert.deepEqual(JSON.parse(mine.json), { id: '1', progress: { position_seconds: 12 } });
    assert.notEqual(mine.etag, body.etag);
    assert.equal(body.withFields({}), body);
    assert.deepEqual(JSON.parse(JsonBody.of({}).withFields({ a: 1 }).json), { a: 1 });
  });

  it('compares If-None-Match as RFC 9110 says for GET (weak comparison, lists, *)', () => {
    assert.equal(ifNoneMatch('"abc"', '"abc"'), true);
    assert.equal(ifNoneMatch('W/"abc"', '"abc"'), true);
    assert.equal(ifNoneMatch('"x", "abc"', '"abc"'), true);
    assert.equal(ifNoneMatch('*', '"abc"'), true);
    assert.equal(ifNoneMatch('"abd"', '"abc"'), false);
    assert.equal(ifNoneMatch(undefined, '"abc"'), false);
  });
});
