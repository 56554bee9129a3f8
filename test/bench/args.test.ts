import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions } from '../../bench/lib/args.js';

describe('bench flags', () => {
  it('passes --qim-flag "--name value" through to quick-im, in either spelling', () => {
    for (const argv of [
      ['fanout', '--qim-flag', '--commit-window-ms 0', '--qim-flag', '--log-level info'],
      ['fanout', '--qim-flag=--commit-window-ms 0', '--qim-flag=--log-level info'],
    ]) {
      const opts = parseOptions(argv);
      assert.ok(opts !== null);
      assert.deepEqual(opts.qimFlags, ['--commit-window-ms', '0', '--log-level', 'info']);
    }
  });

  it('refuses an unknown flag with a message naming it', () => {
    assert.throws(() => parseOptions(['fanout', '--nope']), /nope/);
  });
});
