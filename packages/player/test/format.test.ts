// The words and clocks the player shows (no browser needed): a moment's place as people say it
// ("1 h 12 min"), the timeline's clock, the moment's heading.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clock, spokenTime } from '../web/src/format.ts';
import { t } from '../web/src/i18n.ts';

describe('the player’s times', () => {
  it('says a moment’s place in a sitting as people do', () => {
    assert.equal(spokenTime(4320), '1 h 12 min');
    assert.equal(spokenTime(4325.9), '1 h 12 min');
    assert.equal(spokenTime(3900), '1 h 05 min');
    assert.equal(spokenTime(75.5), '1 min 15 s');
    assert.equal(spokenTime(9), '9 s');
    assert.equal(spokenTime(-3), '0 s');
  });

  it('shows the timeline’s clock', () => {
    assert.equal(clock(4512), '1:15:12');
    assert.equal(clock(75), '1:15');
    assert.equal(clock(Number.NaN), '0:00');
  });

  it('heads a moment « Mme X, 1 h 12 min : »', () => {
    assert.equal(t().momentAt('Mme X', spokenTime(4320)), 'Mme X, 1 h 12 min\u00a0:');
  });
});
