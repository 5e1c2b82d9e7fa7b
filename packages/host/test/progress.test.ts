import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressReporter } from '../src/progress.ts';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, chunks, write: (c: string) => void chunks.push(c) };
}

describe('import progress', () => {
  it('draws one bar in place on a terminal', () => {
    const out = sink(true);
    const p = progressReporter(out);
    p.update({ phase: 'import', done: 0, total: 4 });
    p.update({ phase: 'import', done: 2, total: 4 });
    p.update({ phase: 'import', done: 2, total: 4 });
    p.update({ phase: 'import', done: 4, total: 4 });
    p.end();
    assert.equal(out.chunks.length, 4, 'an unchanged line is not redrawn');
    assert.ok(out.chunks.slice(0, 3).every((c) => c.startsWith('\r')));
    assert.match(out.chunks[1]!, /\[#{15}\.{15}\]\s+50% 2\/4 files/);
    assert.equal(out.chunks.at(-1), '\n');
  });

  it('writes plain lines off a terminal: at each phase and every 10 %', () => {
    const out = sink(false);
    const p = progressReporter(out);
    p.update({ phase: 'download', done: 0 });
    p.update({ phase: 'download', done: 1024 * 1024 });
    for (let i = 0; i <= 100; i++) p.update({ phase: 'import', done: i, total: 100 });
    p.end();
    assert.ok(out.chunks.every((c) => c.endsWith('\n') && !c.includes('\r')));
    assert.equal(out.chunks.filter((c) => c.includes('download')).length, 1);
    assert.equal(out.chunks.filter((c) => c.includes('import:')).length, 11);
    assert.match(out.chunks.at(-1)!, /import: 100\/100 files \(100%\)/);
  });
});
