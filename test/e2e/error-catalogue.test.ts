import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  DisconnectReason,
  SseEvent,
  WsCloseCode,
  endForHttpFailure,
  endForSseEvent,
  endForWsClose,
} from '../../packages/client/src/close-reasons.js';
import { QuickImError } from '../../packages/client/src/errors.js';
import type { PushEnd } from '../../packages/client/src/transports/transport.js';
import { fields } from '../../src/config/settings.js';
import { ErrorCode, UnavailableError, errorSpecs } from '../../src/domain/errors.js';
import { CloseReason, closeSpecs } from '../../src/realtime/close-reasons.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the first table under `## <heading>`, as trimmed cells, header excluded. */
function tableUnder(heading: string): string[][] {
  const start = readme.search(new RegExp(`^## ${heading}\\s*$`, 'm'));
  assert.notEqual(start, -1, `README has no "## ${heading}" section`);
  const rest = readme.slice(start).split('\n').slice(1);
  const end = rest.findIndex((line) => line.startsWith('## '));
  const section = end === -1 ? rest : rest.slice(0, end);
  return rowsOf(section, `## ${heading}`);
}

/** The rows of the first table after the line starting with `intro`, header excluded. */
function tableAfter(intro: string): string[][] {
  const start = readme.search(new RegExp(`^${intro}`, 'm'));
  assert.notEqual(start, -1, `README has no line starting "${intro}"`);
  const lines = readme.slice(start).split('\n').slice(1);
  const first = lines.findIndex((line) => line.trim().startsWith('|'));
  assert.notEqual(first, -1, `no table after "${intro}"`);
  const end = lines.findIndex((line, i) => i > first && !line.trim().startsWith('|'));
  return rowsOf(lines.slice(first, end === -1 ? undefined : end), intro);
}

/** A markdown table's rows as trimmed cells, after checking and dropping header and separator. */
function rowsOf(lines: readonly string[], where: string): string[][] {
  const rows = lines
    .filter((line) => line.trim().startsWith('|'))
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((cell) => cell.trim()),
    );
  assert.ok(rows.length > 2, `no table under "${where}"`);
  assert.match((rows[1] ?? []).join(''), /^[-:]+$/, 'second row is the separator');
  return rows.slice(2);
}

/** `` `x` `` → `x`; anything else unchanged. */
function unquote(cell: string): string {
  const match = /^`([^`]*)`$/.exec(cell);
  return match ? (match[1] as string) : cell;
}

describe('README error-code table', () => {
  const rows = tableUnder('Error codes');
  const catalogue = Object.values(ErrorCode) as number[];

  it('lists every code of the catalogue once, and no other', () => {
    const listed = rows.map((r) => Number(r[0]));
    assert.equal(new Set(listed).size, listed.length, 'a code is listed twice');
    assert.deepEqual([...listed].sort(), [...catalogue].sort());
  });

  it("gives each code the catalogue's HTTP status, and a meaning", () => {
    const unavailable = new UnavailableError();
    for (const [code, status, meaning] of rows) {
      const spec = errorSpecs[Number(code) as ErrorCode];
      assert.ok(spec, `${code} is not in the catalogue`);
      const expected = new Set([spec.status]);
      if (Number(code) === unavailable.code) expected.add(unavailable.status);
      const documented = new Set((status ?? '').match(/\d{3}/g)?.map(Number));
      assert.deepEqual(documented, expected, `HTTP status of ${code}`);
      assert.ok((meaning ?? '').length > 10, `meaning of ${code}`);
    }
  });
});

describe('README settings table', () => {
  const rows = tableUnder('Settings');

  it('lists every setting once, and no other', () => {
    const listed = rows.map((r) => unquote(r[0] ?? ''));
    assert.equal(new Set(listed).size, listed.length, 'a flag is listed twice');
    assert.deepEqual([...listed].sort(), fields.map((f) => `--${f.flag}`).sort());
  });

  it('gives each setting its variable, default and doc', () => {
    for (const f of fields) {
      const row = rows.find((r) => unquote(r[0] ?? '') === `--${f.flag}`);
      assert.ok(row, `--${f.flag}`);
      const [, variable, fallback, meaning] = row;
      assert.equal(unquote(variable ?? ''), f.env, `variable of --${f.flag}`);
      if (f.fallback === '') assert.equal(fallback, 'none', `default of --${f.flag}`);
      else assert.equal(fallback, `\`${f.fallback}\``, `default of --${f.flag}`);
      assert.equal(meaning, f.doc, `meaning of --${f.flag}`);
    }
  });

  it('states the precedence flag > env > config file > default', () => {
    assert.match(readme, /flag > env > `--config file\.json` > default/);
  });
});

/** How the SDK acts on an end: its kind, and for `retry` the reason it reports. */
function outcome(end: PushEnd | undefined): string {
  if (end === undefined) return 'ignored';
  return end.kind === 'retry' ? `retry: ${end.reason}` : end.kind;
}

describe('close-code catalogue', () => {
  // What a client must do for each reason: the README's "client should" column, as the SDK acts.
  const meant: Readonly<Record<CloseReason, string>> = {
    [CloseReason.Replaced]: 'replaced',
    [CloseReason.Expired]: 'unauthorized',
    [CloseReason.Slow]: `retry: ${DisconnectReason.Slow}`,
    [CloseReason.HeartbeatTimeout]: `retry: ${DisconnectReason.HeartbeatTimeout}`,
    [CloseReason.Unavailable]: `retry: ${DisconnectReason.Unavailable}`,
    [CloseReason.GoingAway]: `retry: ${DisconnectReason.Shutdown}`,
    [CloseReason.Revoked]: 'unauthorized',
  };
  // The first words of each reason's row in the README table.
  const rowTitle: Readonly<Record<CloseReason, string>> = {
    [CloseReason.Replaced]: 'replaced by a newer login',
    [CloseReason.Expired]: 'token expired',
    [CloseReason.Slow]: 'too slow',
    [CloseReason.HeartbeatTimeout]: 'heartbeat missed',
    [CloseReason.Unavailable]: 'live delivery interrupted',
    [CloseReason.GoingAway]: 'server shutting down',
    [CloseReason.Revoked]: 'token revoked',
  };
  const reasons = Object.values(CloseReason);

  describe('README "How a connection is ended" table', () => {
    const rows = tableAfter('How a connection is ended');
    const rowOf = (reason: CloseReason): string[] => {
      const found = rows.filter((r) => (r[0] ?? '').startsWith(rowTitle[reason]));
      assert.equal(found.length, 1, `one row for ${reason}`);
      return found[0] as string[];
    };

    it('has one row per reason, and no other', () => {
      assert.equal(rows.length, reasons.length);
      for (const reason of reasons) rowOf(reason);
    });

    it("gives each reason the catalogue's WebSocket code, SSE event and long-poll answer", () => {
      for (const reason of reasons) {
        const spec = closeSpecs[reason];
        const [, ws = '', sse = '', poll = ''] = rowOf(reason);
        assert.equal(Number(/^\d{4}/.exec(ws)?.[0]), spec.wsCode, `WebSocket code of ${reason}`);
        const event = /^`([a-z-]+)`(?: \(code (\d+)\))?$/.exec(sse);
        assert.ok(event, `SSE cell of ${reason}: ${sse}`);
        assert.equal(event[1], spec.sseEvent, `SSE event of ${reason}`);
        if (event[2] !== undefined)
          assert.equal(Number(event[2]), spec.code, `SSE code of ${reason}`);
        const answer = /^(\d{3}), code (\d+)$/.exec(poll);
        if (answer) {
          assert.equal(Number(answer[1]), spec.pollStatus, `long-poll status of ${reason}`);
          assert.equal(Number(answer[2]), spec.pollCode, `long-poll code of ${reason}`);
        } else if (reason === CloseReason.Slow) {
          // A poll place is refilled from the store instead of being closed.
          assert.match(poll, /refilled/);
        } else {
          // Long-poll has no heartbeat of its own to miss.
          assert.equal(reason, CloseReason.HeartbeatTimeout, `long-poll answer of ${reason}`);
          assert.equal(poll, '');
        }
      }
    });
  });

  describe("the client SDK's copy", () => {
    it('knows every WebSocket close code, and reads each as the catalogue means', () => {
      const known = new Set<number>(Object.values(WsCloseCode));
      for (const reason of reasons) {
        const { wsCode } = closeSpecs[reason];
        assert.ok(known.has(wsCode), `WsCloseCode has ${wsCode}`);
        assert.equal(outcome(endForWsClose(wsCode)), meant[reason], `ws ${wsCode} (${reason})`);
      }
    });

    it('knows exactly the SSE events that end a stream, and reads each as meant', () => {
      const ending = Object.values(SseEvent).filter((e) => e !== SseEvent.Message);
      assert.deepEqual(
        [...ending].sort(),
        reasons.map((r) => closeSpecs[r].sseEvent).sort(),
        'SseEvent',
      );
      for (const reason of reasons) {
        const { sseEvent, code } = closeSpecs[reason];
        const end = endForSseEvent(sseEvent, code);
        assert.equal(outcome(end), meant[reason], `sse ${sseEvent} (${reason})`);
        assert.equal(end !== undefined && 'code' in end ? end.code : undefined, code, sseEvent);
      }
    });

    it('reads each long-poll answer as meant (every retry looks alike over HTTP)', () => {
      for (const reason of reasons) {
        const { pollStatus, pollCode } = closeSpecs[reason];
        const end = endForHttpFailure(new QuickImError(pollCode, pollStatus, 'ended'));
        const expected = meant[reason].startsWith('retry')
          ? `retry: ${DisconnectReason.Unavailable}`
          : meant[reason];
        assert.equal(outcome(end), expected, `poll ${pollStatus}/${pollCode} (${reason})`);
      }
    });
  });
});
