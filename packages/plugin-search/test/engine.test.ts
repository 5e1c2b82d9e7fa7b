import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundPays } from '../src/engine.ts';

describe('debate search on PostgreSQL: bounded or exact', () => {
  it('bounds only when walking the date index to the limit reads fewer rows than the matches', () => {
    // 100,000 debates, a limit of 5,000: the walk pays above ~22,000 matches
    assert.equal(boundPays([54_360, 100_000], 5_000), true, 'commission: half the corpus');
    assert.equal(boundPays([6_068, 100_000], 5_000), false, 'a deputy’s name: above the limit, answered exactly');
    assert.equal(boundPays([22_000, 100_000], 5_000), false);
    assert.equal(boundPays([22_500, 100_000], 5_000), true);
    assert.equal(boundPays([4_000, 100_000], 5_000), false, 'under the limit: always exact');
    // no statistics yet (reltuples -1): the limit alone decides
    assert.equal(boundPays([5_001, -1], 5_000), true);
    assert.equal(boundPays([5_000, -1], 5_000), false);
  });
});
