import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@robian/core';

const tmp = () => mkdtempSync(join(tmpdir(), 'robian-config-'));

describe('loadConfig', () => {
  it('starts on the embedded defaults with no environment at all', () => {
    const dir = tmp();
    try {
      const c = loadConfig({ DATA_DIR: dir });
      assert.equal(c.port, 8000);
      assert.equal(c.environment, 'development');
      assert.deepEqual(c.database, { kind: 'sqlite', path: join(dir, 'robian.db'), url: `sqlite:${join(dir, 'robian.db')}` });
      assert.equal(c.redisUrl, undefined);
      assert.deepEqual(c.cacheTtl, { debates: 300, streaming: 3600, search: 1800 });
      assert.equal(c.maxConcurrentExtractions, 3);
      assert.equal(c.extractionTimeoutSeconds, 1800);
      assert.equal(c.prometheusMetrics, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every bad variable and what it expected', () => {
    const err = (() => {
      try {
        loadConfig({ PORT: 'eighty', DEBUG: 'maybe', LOG_LEVEL: 'loud', CACHE_TTL_DEBATES: '-5', DATABASE_URL: 'mysql://x/y', AUDIO_FORMAT: 'flac' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof ConfigError);
    const byVar = Object.fromEntries(err.issues.map((i) => [i.variable, i.message]));
    assert.match(byVar.PORT!, /integer between 0 and 65535.*"eighty"/);
    assert.match(byVar.DEBUG!, /boolean/);
    assert.match(byVar.LOG_LEVEL!, /one of trace, debug/);
    assert.match(byVar.CACHE_TTL_DEBATES!, /between 0 and/);
    assert.match(byVar.AUDIO_FORMAT!, /mp3, aac, opus, wav/);
    assert.match(err.message, /PORT/);
  });

  it('reads DATABASE_URL, REDIS_URL and CORS origins', () => {
    const dir = tmp();
    try {
      const c = loadConfig({
        DATA_DIR: dir,
        DATABASE_URL: 'postgresql://robian@db.example:5432/robian',
        REDIS_URL: 'redis://cache:6379',
        BACKEND_CORS_ORIGINS: '["https://app.example.org", "http://localhost:3000"]',
      });
      assert.deepEqual(c.database, { kind: 'postgresql', url: 'postgresql://robian@db.example:5432/robian', dbName: 'robian' });
      assert.equal(c.redisUrl, 'redis://cache:6379');
      assert.deepEqual(c.corsOrigins, ['https://app.example.org', 'http://localhost:3000']);
      assert.deepEqual(loadConfig({ DATA_DIR: dir, BACKEND_CORS_ORIGINS: 'https://a.org, https://b.org' }).corsOrigins, ['https://a.org', 'https://b.org']);
      assert.throws(() => loadConfig({ DATA_DIR: dir, BACKEND_CORS_ORIGINS: 'https://a.org/path' }), /BACKEND_CORS_ORIGINS/);
      assert.throws(() => loadConfig({ DATA_DIR: dir, DATABASE_URL: 'postgresql://host:5432/' }), /DATABASE_URL: the postgresql:\/\/ URL must name a database/);
      assert.throws(() => loadConfig({ DATA_DIR: dir, REDIS_URL: 'localhost:6379' }), /REDIS_URL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start in production without long secrets', () => {
    assert.throws(
      () => loadConfig({ ENVIRONMENT: 'production', DATA_DIR: '/nonexistent' }),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.variable === 'SECRET_KEY') && e.issues.some((i) => i.variable === 'ADMIN_API_KEY'),
    );
    assert.throws(
      () => loadConfig({ ENVIRONMENT: 'production', SECRET_KEY: 'short', ADMIN_API_KEY: 'x'.repeat(40) }),
      /SECRET_KEY: too short \(5 characters\)/,
    );
    const ok = loadConfig({ ENVIRONMENT: 'production', SECRET_KEY: 's'.repeat(32), ADMIN_API_KEY: 'a'.repeat(32) });
    assert.equal(ok.secretKey, 's'.repeat(32));
  });

  it('generates development secrets once and keeps them under DATA_DIR', () => {
    const dir = tmp();
    try {
      const a = loadConfig({ DATA_DIR: dir });
      const b = loadConfig({ DATA_DIR: dir });
      assert.ok(a.secretKey.length >= 32);
      assert.ok(a.adminApiKey.length >= 32);
      assert.notEqual(a.secretKey, a.adminApiKey);
      assert.equal(b.secretKey, a.secretKey);
      assert.equal(b.adminApiKey, a.adminApiKey);
      const file = join(dir, 'secrets.json');
      assert.ok(existsSync(file));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).SECRET_KEY, a.secretKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
