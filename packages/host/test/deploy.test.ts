import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEPLOY, run } from './deploy-helpers.ts';

/**
 * deploy/ checked by the tools that will read it: promtool (config, rules, rule unit tests),
 * systemd-analyze verify (units), docker-compose config (services, profiles, healthchecks, no
 * secret in the file), nginx -t. The end-to-end run of nginx in front of two hosts, and the check
 * that every metric a rule or a dashboard reads is exported, are in deploy-e2e.test.ts.
 */
/** prometheus.yml with its absolute container paths pointed at a copy of deploy/prometheus. */
function prometheusCopy(): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'robian-prom-'));
  cpSync(join(DEPLOY, 'prometheus'), dir, { recursive: true });
  writeFileSync(join(dir, 'token'), 'a-metrics-token-for-the-test\n');
  const config = readFileSync(join(dir, 'prometheus.yml'), 'utf8')
    .replaceAll('/etc/prometheus/rules/', `${dir}/rules/`)
    .replaceAll('/etc/prometheus/targets/', `${dir}/targets/`)
    .replaceAll('/run/secrets/robian_metrics_token', `${dir}/token`);
  writeFileSync(join(dir, 'prometheus.yml'), config);
  return { dir, config: join(dir, 'prometheus.yml') };
}

describe('deploy/prometheus (promtool)', () => {
  it('the scrape config and the rules are valid, and each alert fires and clears on its unit-test series', async () => {
    const { dir, config } = prometheusCopy();
    try {
      const checkConfig = await run('promtool', ['check', 'config', config]);
      assert.equal(checkConfig.code, 0, checkConfig.stdout + checkConfig.stderr);
      assert.match(checkConfig.stdout, /SUCCESS: 1 rule files found/);
      const checkRules = await run('promtool', ['check', 'rules', join(DEPLOY, 'prometheus/rules/robian.yml')]);
      assert.equal(checkRules.code, 0, checkRules.stdout + checkRules.stderr);
      const tests = await run('promtool', ['test', 'rules', join(DEPLOY, 'prometheus/tests/robian.test.yml')]);
      assert.equal(tests.code, 0, tests.stdout + tests.stderr);
      assert.match(tests.stdout, /SUCCESS/);
      // every alert of the issue exists and is unit-tested
      const rules = readFileSync(join(DEPLOY, 'prometheus/rules/robian.yml'), 'utf8');
      const unit = readFileSync(join(DEPLOY, 'prometheus/tests/robian.test.yml'), 'utf8');
      const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
      assert.deepEqual(alerts.sort(), [
        'RobianApiDown', 'RobianCacheHitRateLow', 'RobianDataDirDiskFull', 'RobianDatabasePoolSaturated', 'RobianDatabaseUnreachable', 'RobianExtractionQueueGrowing',
        'RobianExtractionsFailing', 'RobianHighErrorRate', 'RobianRedisDown', 'RobianScheduledTaskOverdue', 'RobianSlowRequests',
      ]);
      for (const a of alerts) assert.match(unit, new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${a} has a firing unit test`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a rule that is wrong fails its unit test (the tests can fail)', async () => {
    const { dir } = prometheusCopy();
    try {
      const path = join(dir, 'rules/robian.yml');
      writeFileSync(path, readFileSync(path, 'utf8').replace('robian_db_up == 0', 'robian_db_up == 2'));
      const tests = await run('promtool', ['test', 'rules', join(dir, 'tests/robian.test.yml')]);
      assert.notEqual(tests.code, 0);
      assert.match(tests.stdout + tests.stderr, /RobianDatabaseUnreachable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/systemd (systemd-analyze verify)', () => {
  it('every unit verifies without a warning, with the hardening and the stop timeout the docs promise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'robian-units-'));
    try {
      const units = readdirSync(join(DEPLOY, 'systemd'));
      assert.deepEqual(units.sort(), [
        'robian-audio-cleanup.service', 'robian-audio-cleanup.timer', 'robian-backup.service', 'robian-backup.timer',
        'robian-listeners-prune.service', 'robian-listeners-prune.timer', 'robian.service',
      ]);
      const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
      for (const u of units) {
        // verify checks that ExecStart's binaries exist: point them at this machine's
        const text = readFileSync(join(DEPLOY, 'systemd', u), 'utf8').replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/robian/dist/cli.js', cli);
        writeFileSync(join(dir, u), text);
      }
      const verify = await run('systemd-analyze', ['verify', '--man=no', ...units.map((u) => join(dir, u))]);
      assert.equal(verify.code, 0, verify.stderr);
      // verify exits 0 on unknown keys and bad values: any line it prints about our units is a failure
      assert.equal(verify.stderr.split('\n').filter((l) => l.includes(dir)).join('\n'), '');
      const service = readFileSync(join(DEPLOY, 'systemd/robian.service'), 'utf8');
      for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/robian', 'PrivateTmp=yes', 'Restart=always', 'KillSignal=SIGTERM']) {
        assert.ok(service.split('\n').includes(line), line);
      }
      // Robian exits by itself within SHUTDOWN_TIMEOUT (10) + 5 s: systemd must not kill it earlier
      const stop = Number(/^TimeoutStopSec=(\d+)s$/m.exec(service)?.[1]);
      assert.ok(stop >= 15, `TimeoutStopSec=${stop}`);
      for (const t of ['audio-cleanup', 'listeners-prune', 'backup']) {
        assert.match(readFileSync(join(DEPLOY, `systemd/robian-${t}.timer`), 'utf8'), /^OnCalendar=/m);
      }
      // a broken unit is reported (the check can fail)
      writeFileSync(join(dir, 'robian.service'), readFileSync(join(dir, 'robian.service'), 'utf8').replace('ProtectSystem=strict', 'ProtectSystem=sometimes'));
      const broken = await run('systemd-analyze', ['verify', '--man=no', join(dir, 'robian.service')]);
      assert.match(broken.stderr, /ProtectSystem|protect system/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  environment?: Record<string, string | null>;
  env_file?: string[];
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
}

describe('deploy/docker-compose.yml (docker-compose config)', () => {
  it('parses, with the three profiles, healthchecks on every long-running service and no secret in the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'robian-compose-'));
    try {
      cpSync(DEPLOY, dir, { recursive: true });
      // the env file is the operator's: an example one for the parse
      cpSync(join(DEPLOY, 'robian.env.example'), join(dir, 'robian.env'));
      const env = { PATH: process.env.PATH ?? '', POSTGRES_PASSWORD: 'compose-check-password' };
      const parse = async (profiles: string[]) => {
        const r = await run('docker-compose', ['--project-directory', dir, '-f', join(dir, 'docker-compose.yml'), ...profiles.flatMap((p) => ['--profile', p]), 'config'], { env, cwd: dir });
        assert.equal(r.code, 0, r.stderr);
        const json = await run('python3', ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: r.stdout });
        assert.equal(json.code, 0, json.stderr);
        return (JSON.parse(json.stdout) as { services: Record<string, ComposeService> }).services;
      };
      const all = await parse(['monitoring', 'production']);
      assert.deepEqual(Object.keys(all).sort(), ['api', 'api-2', 'api-3', 'grafana', 'migrate', 'nginx', 'postgres', 'prometheus', 'redis']);
      const profile = (name: string) => all[name]?.profiles ?? [];
      assert.deepEqual(['api', 'migrate', 'postgres', 'redis'].map(profile), [[], [], [], []], 'the default profile');
      assert.deepEqual(['prometheus', 'grafana'].map(profile), [['monitoring'], ['monitoring']]);
      assert.deepEqual(['nginx', 'api-2', 'api-3'].map(profile), [['production'], ['production'], ['production']]);
      for (const [name, s] of Object.entries(all)) {
        if (name === 'migrate') continue;
        assert.ok(s.healthcheck?.test?.length && !s.healthcheck.disable, `${name} has a healthcheck`);
      }
      assert.deepEqual(all.migrate?.command, ['db', 'migrate']);
      assert.equal(all.api?.depends_on?.migrate?.condition, 'service_completed_successfully', 'migrations run once, before the api starts');
      for (const r of ['api', 'api-2', 'api-3']) assert.equal(all[r]?.environment?.REDIS_URL, 'redis://redis:6379');
      for (const r of ['api-2', 'api-3']) assert.equal(all[r]?.environment?.TRUST_PROXY, 'true');

      // secrets: only in the env file, never in the compose file or the image
      const text = readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8');
      assert.doesNotMatch(text, /(SECRET_KEY|ADMIN_API_KEY|METRICS_TOKEN|PASSWORD)\s*[:=]\s*["']?[A-Za-z0-9+/]{8,}/);
      assert.doesNotMatch(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'), /SECRET_KEY|ADMIN_API_KEY|PASSWORD/);
      for (const [, value] of readFileSync(join(DEPLOY, 'robian.env.example'), 'utf8').matchAll(/^(?:SECRET_KEY|ADMIN_API_KEY|METRICS_TOKEN|POSTGRES_PASSWORD|GF_SECURITY_ADMIN_PASSWORD)=(.*)$/gm)) {
        assert.equal(value, '', 'the example env file leaves secrets empty');
      }
      assert.match(readFileSync(new URL('../../../.gitignore', import.meta.url), 'utf8'), /^\.env$|^\*\.env$/m);
      assert.match(readFileSync(new URL('../../../.dockerignore', import.meta.url), 'utf8'), /^\*\*\/\*\.env$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
