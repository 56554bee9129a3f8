import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_NODE_ID,
  MSG_ID_ALPHABET,
  MSG_ID_PATTERN,
  MsgIdAllocator,
  formatMsgId,
  isMsgId,
  parseMsgId,
} from './msg-id.js';
import type { MsgIdParts } from './msg-id.js';

/** The contract's format, written out independently of the module's own pattern. */
const CONTRACT_FORMAT =
  /^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{5}-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{3}$/;

const MAX_TIME = 2 ** 45 - 1;
const MAX_SEQ = 2 ** 20 - 1;

/** Deterministic pseudo-random integers in [0, max], so failures reproduce. */
function seededRandom(seed: number): (max: number) => number {
  let state = seed >>> 0;
  return (max) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    const high = state / 2 ** 32;
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return Math.floor((high + state / 2 ** 64) * (max + 1));
  };
}

function randomParts(rand: (max: number) => number): MsgIdParts {
  return { timeMs: rand(MAX_TIME), seq: rand(MAX_SEQ), node: rand(MAX_NODE_ID) };
}

function assertStrictlyIncreasing(ids: readonly string[]): void {
  for (let i = 1; i < ids.length; i++) {
    assert.ok((ids[i - 1] as string) < (ids[i] as string), `not increasing at ${i}`);
  }
}

/** A clock that returns `values` in turn, then repeats the last. */
function scriptedClock(values: readonly number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
}

describe('MsgId format', () => {
  it('uses the contract alphabet, in ASCII order', () => {
    assert.equal(MSG_ID_ALPHABET, '23456789ABCDEFGHJKLMNPQRSTUVWXYZ');
    assert.deepEqual([...MSG_ID_ALPHABET].sort(), [...MSG_ID_ALPHABET]);
    assert.equal(new RegExp(MSG_ID_PATTERN).test('EDCZL-SY32-243Y-VWQ'), true);
  });

  it('matches the contract format for every generated id, 19 characters long', () => {
    const now = Date.now();
    const allocators = [
      new MsgIdAllocator(0, () => 0),
      new MsgIdAllocator(MAX_NODE_ID, () => MAX_TIME),
      new MsgIdAllocator(12_345),
      new MsgIdAllocator(1, scriptedClock([now, now - 5, now + 3, now + 3])),
    ];
    for (const alloc of allocators) {
      for (let i = 0; i < 500; i++) {
        const id = alloc.next();
        assert.equal(id.length, 19);
        assert.match(id, CONTRACT_FORMAT);
        assert.ok(isMsgId(id));
        for (const ch of id.replaceAll('-', '')) assert.ok(MSG_ID_ALPHABET.includes(ch), ch);
      }
    }
  });

  it('formats the extremes of every field within the format', () => {
    assert.equal(formatMsgId({ timeMs: 0, seq: 0, node: 0 }), '22222-2222-2222-222');
    assert.equal(
      formatMsgId({ timeMs: MAX_TIME, seq: MAX_SEQ, node: MAX_NODE_ID }),
      'ZZZZZ-ZZZZ-ZZZZ-ZZZ',
    );
  });

  it('round-trips between formatMsgId and parseMsgId', () => {
    const rand = seededRandom(42);
    const samples: MsgIdParts[] = [
      { timeMs: 0, seq: 0, node: 0 },
      { timeMs: MAX_TIME, seq: MAX_SEQ, node: MAX_NODE_ID },
      { timeMs: 1_698_119_710_632, seq: 1, node: 7 },
      ...Array.from({ length: 2000 }, () => randomParts(rand)),
    ];
    for (const parts of samples) {
      const id = formatMsgId(parts);
      assert.deepEqual(parseMsgId(id), parts);
      assert.equal(formatMsgId(parseMsgId(id)), id);
    }
    assert.equal(formatMsgId(parseMsgId('EDCZL-SY32-243Y-VWQ')), 'EDCZL-SY32-243Y-VWQ');
  });

  it('parseMsgId throws on a malformed id', () => {
    for (const bad of ['', 'EDCZL-SY32-243Y-VW', 'edczl-sy32-243y-vwq', 'EDCZL-SY32-243Y-VW0']) {
      assert.throws(() => parseMsgId(bad), /malformed MsgId/, bad);
    }
  });

  it('orders ids as strings exactly as (time, seq, node)', () => {
    const rand = seededRandom(7);
    const tuple = (p: MsgIdParts) => [p.timeMs, p.seq, p.node] as const;
    const compareParts = (a: MsgIdParts, b: MsgIdParts): number => {
      const [x, y] = [tuple(a), tuple(b)];
      for (let i = 0; i < 3; i++)
        if (x[i] !== y[i]) return (x[i] as number) < (y[i] as number) ? -1 : 1;
      return 0;
    };
    const sign = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    for (let i = 0; i < 3000; i++) {
      const a = randomParts(rand);
      // Close pairs too: same time, or same time and seq, where the lower fields decide.
      const b =
        i % 3 === 0
          ? { ...a, seq: rand(MAX_SEQ), node: rand(MAX_NODE_ID) }
          : i % 3 === 1
            ? { ...a, node: rand(MAX_NODE_ID) }
            : randomParts(rand);
      assert.equal(
        sign(formatMsgId(a), formatMsgId(b)),
        compareParts(a, b),
        JSON.stringify([a, b]),
      );
    }
    // A later millisecond beats any sequence and node of an earlier one.
    assert.ok(
      formatMsgId({ timeMs: 1001, seq: 0, node: 0 }) >
        formatMsgId({ timeMs: 1000, seq: MAX_SEQ, node: MAX_NODE_ID }),
    );
    // A later sequence beats any node.
    assert.ok(
      formatMsgId({ timeMs: 1000, seq: 1, node: 0 }) >
        formatMsgId({ timeMs: 1000, seq: 0, node: MAX_NODE_ID }),
    );
  });
});

describe('isMsgId', () => {
  it('accepts the contract example and generated ids', () => {
    assert.equal(isMsgId('EDCZL-SY32-243Y-VWQ'), true);
    assert.equal(isMsgId(new MsgIdAllocator(5).next()), true);
  });

  it('rejects wrong lengths', () => {
    for (const bad of ['', 'EDCZL-SY32-243Y-VW', 'EDCZL-SY32-243Y-VWQQ', 'EDCZ-SY32-243Y-VWQ']) {
      assert.equal(isMsgId(bad), false, bad);
    }
  });

  it('rejects lowercase', () => {
    assert.equal(isMsgId('edczl-sy32-243y-vwq'), false);
    assert.equal(isMsgId('EDCZL-SY32-243Y-VWq'), false);
  });

  it('rejects the letters the alphabet leaves out: I, O, 0 and 1', () => {
    for (const ch of ['I', 'O', '0', '1']) {
      assert.equal(isMsgId(`EDCZL-SY32-243Y-VW${ch}`), false, ch);
      assert.equal(isMsgId(`${ch}DCZL-SY32-243Y-VWQ`), false, ch);
    }
  });

  it('rejects misplaced, missing or extra dashes and surrounding text', () => {
    for (const bad of [
      'EDCZ-LSY32-243Y-VWQ',
      'EDCZL-SY322-43Y-VWQ',
      'EDCZL-SY32-243YV-WQ',
      'EDCZLSY32243YVWQ',
      'EDCZL-SY32-243Y-VWQ-',
      'EDCZL--SY32-243Y-VW',
      'EDCZL_SY32_243Y_VWQ',
      ' EDCZL-SY32-243Y-VWQ',
      'EDCZL-SY32-243Y-VWQ\n',
    ]) {
      assert.equal(isMsgId(bad), false, JSON.stringify(bad));
    }
  });

  it('rejects non-strings', () => {
    for (const bad of [
      undefined,
      null,
      123,
      true,
      {},
      ['EDCZL-SY32-243Y-VWQ'],
      new String('EDCZL-SY32-243Y-VWQ'),
    ]) {
      assert.equal(isMsgId(bad), false, String(bad));
    }
  });
});

describe('MsgIdAllocator', () => {
  it('rejects node ids outside 0..MAX_NODE_ID', () => {
    for (const node of [-1, MAX_NODE_ID + 1, 1.5, Number.NaN]) {
      assert.throws(() => new MsgIdAllocator(node), RangeError, String(node));
    }
    assert.equal(new MsgIdAllocator(MAX_NODE_ID).node, MAX_NODE_ID);
  });

  it('stamps ids with the clock millisecond and its node', () => {
    const parts = parseMsgId(new MsgIdAllocator(321, () => 1_698_119_710_632).next());
    assert.deepEqual(parts, { timeMs: 1_698_119_710_632, seq: 0, node: 321 });
  });

  it('rises strictly while the clock stands still', () => {
    const alloc = new MsgIdAllocator(9, () => 5000);
    const ids = Array.from({ length: 5000 }, () => alloc.next());
    assertStrictlyIncreasing(ids);
    assert.deepEqual(parseMsgId(ids[4999] as string), { timeMs: 5000, seq: 4999, node: 9 });
  });

  it('rises strictly while the clock goes backwards', () => {
    let now = 1_000_000;
    const alloc = new MsgIdAllocator(9, () => (now -= 7));
    const ids = Array.from({ length: 2000 }, () => alloc.next());
    assertStrictlyIncreasing(ids);
  });

  it('returns to the clock once it catches up again', () => {
    const alloc = new MsgIdAllocator(4, scriptedClock([1000, 900, 900, 2000]));
    const ids = [alloc.next(), alloc.next(), alloc.next(), alloc.next()];
    assertStrictlyIncreasing(ids);
    assert.deepEqual(parseMsgId(ids[3] as string), { timeMs: 2000, seq: 0, node: 4 });
  });

  it('goes strictly above a floor from the future, and stays above it', () => {
    const now = 1_698_119_710_632;
    const alloc = new MsgIdAllocator(1, () => now);
    const floor = formatMsgId({ timeMs: now + 3_600_000, seq: 5, node: 9 });
    const id = alloc.next(floor);
    assert.ok(id > floor, `${id} > ${floor}`);
    assert.deepEqual(parseMsgId(id), { timeMs: now + 3_600_000, seq: 6, node: 1 });
    const later = alloc.next();
    assert.ok(later > id);
  });

  it('goes strictly above a floor from another node in the same millisecond', () => {
    const t = 1_698_119_710_632;
    for (const otherNode of [0, 2, MAX_NODE_ID]) {
      for (const otherSeq of [0, 3]) {
        const alloc = new MsgIdAllocator(1, () => t);
        const floor = formatMsgId({ timeMs: t, seq: otherSeq, node: otherNode });
        const id = alloc.next(floor);
        assert.ok(id > floor, `${id} > ${floor}`);
      }
    }
  });

  it('keeps following the clock when the floor lies in the past', () => {
    const alloc = new MsgIdAllocator(1, () => 50_000);
    const floor = formatMsgId({ timeMs: 40_000, seq: 77, node: 3 });
    assert.deepEqual(parseMsgId(alloc.next(floor)), { timeMs: 50_000, seq: 0, node: 1 });
    assert.ok(alloc.next(null) > floor);
    assert.ok(alloc.next(undefined) > floor);
  });

  it('rolls a full sequence over into the next millisecond', () => {
    const alloc = new MsgIdAllocator(2, () => 10_000);
    const floor = formatMsgId({ timeMs: 10_000, seq: MAX_SEQ, node: 0 });
    const id = alloc.next(floor);
    assert.ok(id > floor);
    assert.deepEqual(parseMsgId(id), { timeMs: 10_001, seq: 0, node: 2 });
    const next = alloc.next();
    assert.ok(next > id);
    assert.deepEqual(parseMsgId(next), { timeMs: 10_001, seq: 1, node: 2 });
  });

  it('never gives two nodes the same id, even with the same clock', () => {
    const clock = () => 77_000;
    const a = new MsgIdAllocator(1, clock);
    const b = new MsgIdAllocator(2, clock);
    const fromA = Array.from({ length: 3000 }, () => a.next());
    const fromB = Array.from({ length: 3000 }, () => b.next());
    const all = new Set([...fromA, ...fromB]);
    assert.equal(all.size, 6000);
  });

  it('keeps a conversation shared by two nodes strictly increasing and unique', () => {
    const a = new MsgIdAllocator(1, scriptedClock([5000, 5000, 4990, 5001]));
    const b = new MsgIdAllocator(2, () => 4999);
    let last: string | null = null;
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      last = (i % 3 === 0 ? b : a).next(last);
      ids.push(last);
    }
    assertStrictlyIncreasing(ids);
    assert.equal(new Set(ids).size, ids.length);
  });
});
