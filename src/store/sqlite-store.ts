import Database from 'better-sqlite3';
import type { ConversationDetail } from '../domain/conversation.js';
import { UnavailableError } from '../domain/errors.js';
import type { Message } from '../domain/message.js';
import { sqliteMigrations } from './migrations/sqlite.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { appendedResult } from './store.js';
import type {
  AllocateMsgId,
  AppendResult,
  HistoryDirection,
  MessageDraft,
  SelfJoinResult,
  Store,
} from './store.js';

const MEMBER = 0;
const LEFT = 1;
const KICKED = 2;

interface ConversationRow {
  id: string;
  type: number;
  is_archive: number;
  last_msg_id: string | null;
  last_send_time: number | null;
  last_send_session: string | null;
}

/** A write waiting for the next group commit; `run` executes inside that transaction. */
interface PendingWrite {
  readonly run: () => unknown;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Entries in each of the store's caches of conversation state (oldest dropped first). */
const CACHE_ENTRIES = 100_000;

function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  if (cache.size >= CACHE_ENTRIES && !cache.has(key)) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(key, value);
}

const memberKey = (conversationId: string, session: string): string =>
  `${conversationId}\u0000${session}`;

const messageColumns = `msg_id AS MsgId, conversation_id AS ConversationID, from_session AS FromSession,
  send_time AS SendTime, status AS Status, type AS Type, content AS Content`;

export interface SqliteStoreOptions {
  /**
   * While appends keep arriving, commit them together at most once per this many
   * milliseconds; 0 (the default) commits once per event-loop turn.
   */
  readonly commitWindowMs?: number;
  /** Group commits after which checkpoints move to a background thread (default 100). */
  readonly checkpointerAfterCommits?: number;
  /** Called if the background checkpoint thread fails (inline checkpoints go on). */
  readonly onCheckpointFailure?: (reason: string) => void;
  /** WAL size after which it is copied back and started over (default `WAL_MAX_BYTES`). */
  readonly walMaxBytes?: number;
  /** Milliseconds between background checkpoints (default `CHECKPOINT_INTERVAL_MS`). */
  readonly checkpointIntervalMs?: number;
}

/**
 * WAL size at which it is started over (`--wal-max-mb`): every few seconds at 2,000 msg/s.
 * Once the background checkpointer runs, the writer holds its commits for one completing pass
 * at this size (10–18 ms measured; see `SqliteCheckpointer`); SQLite's own checkpoint inside a
 * commit (two fsyncs, 10–35 ms with the event loop stopped) is then only a fallback at
 * `FALLBACK_FACTOR` times the size, should the background thread fall behind.
 */
const WAL_MAX_BYTES = 40 * 1024 * 1024;
const FALLBACK_FACTOR = 4;

/** The embedded store: one SQLite file in WAL mode, every query a prepared statement. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly q;
  // Built once: wrapping a function in a transaction costs as much as a small query.
  private readonly writeImmediate: (run: () => unknown) => unknown;
  private readonly writeBatch: (batch: readonly PendingWrite[]) => unknown[];
  /** Writes waiting for the next group commit. */
  private pending: PendingWrite[] = [];
  /**
   * What appends need to know, kept from earlier appends: each conversation's newest MsgId and
   * each (conversation, session)'s member state (null: no member row). This connection writes
   * every change to them; a commit by any other connection (`data_version`) empties both.
   */
  private readonly lastIds = new Map<string, string | null>();
  private readonly memberStates = new Map<string, number | null>();
  private dataVersion = -1;
  private readonly commitWindowMs: number;
  private readonly path: string;
  private readonly onCheckpointFailure: ((reason: string) => void) | undefined;
  private lastCommitAt = -Infinity;
  private commitTimer: NodeJS.Timeout | null = null;
  private checkpointer: SqliteCheckpointer | null = null;
  private commitsBeforeCheckpointer: number;
  private readonly walRestartPages: number;
  private readonly checkpointIntervalMs: number | undefined;
  /** Commits are held while the checkpointer completes a pass (the WAL then starts over). */
  private holding = false;

  /** Opens (creating if needed) the database at `path` and runs pending migrations. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.commitWindowMs = options.commitWindowMs ?? 0;
    this.commitsBeforeCheckpointer = options.checkpointerAfterCommits ?? 100;
    this.path = path;
    this.onCheckpointFailure = options.onCheckpointFailure;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives the process being killed; only an OS crash may lose the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.checkpointIntervalMs = options.checkpointIntervalMs;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const walMaxBytes = options.walMaxBytes ?? WAL_MAX_BYTES;
    this.walRestartPages = Math.max(1, Math.round(walMaxBytes / pageSize));
    this.db.pragma(`wal_autocheckpoint = ${this.walRestartPages}`);
    // A restarted WAL keeps its file (rewriting blocks is cheaper than growing a file) up to this.
    this.db.pragma(`journal_size_limit = ${this.walRestartPages * pageSize}`);
    this.migrate();
    this.writeImmediate = this.db.transaction((run: () => unknown) => {
      this.checkDataVersion();
      return run();
    }).immediate;
    this.writeBatch = this.db.transaction((batch: readonly PendingWrite[]) => {
      this.checkDataVersion();
      return batch.map((p) => p.run());
    }).immediate;
    const db = this.db;
    this.q = {
      insertConversation: db.prepare('INSERT INTO conversations (id, type) VALUES (?, ?)'),
      // The last-message fields come from the newest row of the (conversation_id, msg_id)
      // index rather than columns updated by every append: one row fewer written per message.
      getConversation: db.prepare<[string], ConversationRow>(
        `SELECT c.id, c.type, c.is_archive, m.msg_id AS last_msg_id,
           m.send_time AS last_send_time, m.from_session AS last_send_session
         FROM conversations c LEFT JOIN messages m ON m.rowid = (
           SELECT rowid FROM messages WHERE conversation_id = c.id ORDER BY msg_id DESC LIMIT 1)
         WHERE c.id = ?`,
      ),
      exists: db.prepare<[string], { one: number }>(
        'SELECT 1 AS one FROM conversations WHERE id = ?',
      ),
      memberState: db.prepare<[string, string], { state: number }>(
        'SELECT state FROM members WHERE conversation_id = ? AND session = ?',
      ),
      upsertMember: db.prepare(
        `INSERT INTO members (conversation_id, session, state) VALUES (?, ?, ?)
         ON CONFLICT (conversation_id, session) DO UPDATE SET state = excluded.state`,
      ),
      leave: db.prepare(
        `UPDATE members SET state = ${LEFT} WHERE conversation_id = ? AND session = ? AND state = ${MEMBER}`,
      ),
      joined: db.prepare<[string], { conversation_id: string }>(
        `SELECT conversation_id FROM members WHERE session = ? AND state = ${MEMBER} ORDER BY rowid`,
      ),
      members: db.prepare<[string], { session: string }>(
        `SELECT session FROM members WHERE conversation_id = ? AND state = ${MEMBER} ORDER BY rowid`,
      ),
      setArchive: db.prepare('UPDATE conversations SET is_archive = ? WHERE id = ?'),
      appendCheck: db.prepare<
        [string, string],
        { last_msg_id: string | null; state: number | null }
      >(
        `SELECT (SELECT msg_id FROM messages WHERE conversation_id = c.id
                 ORDER BY msg_id DESC LIMIT 1) AS last_msg_id, m.state
         FROM conversations c
         LEFT JOIN members m ON m.conversation_id = c.id AND m.session = ? WHERE c.id = ?`,
      ),
      insertMessage: db.prepare(
        `INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      lastMsgId: db.prepare<[string], { last_msg_id: string }>(
        'SELECT msg_id AS last_msg_id FROM messages WHERE conversation_id = ? ORDER BY msg_id DESC LIMIT 1',
      ),
      before: db.prepare<[string, string, number], Message>(
        `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? AND msg_id < ? ORDER BY msg_id DESC LIMIT ?`,
      ),
      newest: db.prepare<[string, number], Message>(
        `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? ORDER BY msg_id DESC LIMIT ?`,
      ),
      after: db.prepare<[string, string, number], Message>(
        `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? AND msg_id > ? ORDER BY msg_id ASC LIMIT ?`,
      ),
      oldest: db.prepare<[string, number], Message>(
        `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? ORDER BY msg_id ASC LIMIT ?`,
      ),
      rangeAsc: db.prepare<[string, string, string, number], Message>(
        `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? AND msg_id >= ? AND msg_id <= ?
         ORDER BY msg_id ASC LIMIT ?`,
      ),
      rangeDesc: db.prepare<[string, string, string, number], Message>(
        `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? AND msg_id >= ? AND msg_id <= ?
         ORDER BY msg_id DESC LIMIT ?`,
      ),
      missed: db.prepare<[string, string, number], Message>(
        `SELECT ${messageColumns} FROM messages
         WHERE conversation_id IN (SELECT conversation_id FROM members WHERE session = ? AND state = ${MEMBER})
           AND msg_id > ? ORDER BY msg_id DESC LIMIT ?`,
      ),
      savePollCursor: db.prepare(
        `INSERT INTO poll_cursors (session, platform, msg_id, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (session, platform) DO UPDATE SET msg_id = excluded.msg_id, updated_at = excluded.updated_at`,
      ),
      pollCursor: db.prepare<[string, number, number], { msg_id: string }>(
        'SELECT msg_id FROM poll_cursors WHERE session = ? AND platform = ? AND updated_at >= ?',
      ),
      ping: db.prepare('SELECT 1'),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    };
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < sqliteMigrations.length; v++) {
      this.db.transaction(() => {
        this.db.exec(sqliteMigrations[v] as string);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** Runs a synchronous database call, turning a closed or broken database into `UnavailableError`. */
  private run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      if (
        !this.db.open ||
        (err instanceof Database.SqliteError && /BUSY|LOCKED|IOERR|CANTOPEN|FULL/.test(err.code))
      ) {
        return Promise.reject(new UnavailableError('store unavailable'));
      }
      return Promise.reject(err);
    }
  }

  /** Empties the caches if another connection has committed since this one last looked. */
  private checkDataVersion(): void {
    const version = this.q.dataVersion.get() as number;
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    this.forget();
  }

  private forget(): void {
    this.lastIds.clear();
    this.memberStates.clear();
  }

  /** Sets members' state, dropping what the cache knew of them (even if the transaction rolls back). */
  private setMemberState(conversationId: string, sessions: readonly string[], state: number): void {
    for (const s of sessions) {
      this.memberStates.delete(memberKey(conversationId, s));
      this.q.upsertMember.run(conversationId, s, state);
    }
  }

  private readonly addMembers = (conversationId: string, sessions: readonly string[]): void => {
    this.setMemberState(conversationId, sessions, MEMBER);
  };

  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
  ): Promise<void> {
    return this.run(() =>
      this.db.transaction(() => {
        this.q.insertConversation.run(conversationId, type);
        this.addMembers(conversationId, sessions);
      })(),
    );
  }

  getConversation(conversationId: string): Promise<ConversationDetail | undefined> {
    return this.run(() => {
      const row = this.q.getConversation.get(conversationId);
      if (!row) return undefined;
      return {
        ConversationID: row.id,
        LastMsgID: row.last_msg_id,
        LastSendTime: row.last_send_time,
        IsDelete: false,
        ConversationType: row.type,
        LastSendSession: row.last_send_session,
        IsArchive: row.is_archive !== 0,
      };
    });
  }

  isMember(conversationId: string, session: string): Promise<boolean | undefined> {
    return this.run(() => {
      const row = this.q.appendCheck.get(session, conversationId);
      if (!row) return undefined;
      return row.state === MEMBER;
    });
  }

  joinedConversations(session: string): Promise<string[]> {
    return this.run(() => this.q.joined.all(session).map((r) => r.conversation_id));
  }

  members(conversationId: string): Promise<string[]> {
    return this.run(() => this.q.members.all(conversationId).map((r) => r.session));
  }

  joinBySelf(conversationId: string, session: string): Promise<SelfJoinResult> {
    return this.run(() =>
      this.db.transaction((): SelfJoinResult => {
        const row = this.q.appendCheck.get(session, conversationId);
        if (!row) return 'not-found';
        if (row.state === KICKED) return 'kicked';
        if (row.state !== MEMBER) this.setMemberState(conversationId, [session], MEMBER);
        return 'joined';
      })(),
    );
  }

  joinByInner(conversationId: string, sessions: readonly string[]): Promise<boolean> {
    return this.run(() =>
      this.db.transaction(() => {
        if (!this.q.exists.get(conversationId)) return false;
        this.addMembers(conversationId, sessions);
        return true;
      })(),
    );
  }

  leave(conversationId: string, session: string): Promise<boolean> {
    return this.run(() =>
      this.db.transaction(() => {
        if (!this.q.exists.get(conversationId)) return false;
        this.memberStates.delete(memberKey(conversationId, session));
        this.q.leave.run(conversationId, session);
        return true;
      })(),
    );
  }

  kick(conversationId: string, sessions: readonly string[]): Promise<boolean> {
    return this.run(() =>
      this.db.transaction(() => {
        if (!this.q.exists.get(conversationId)) return false;
        this.setMemberState(conversationId, sessions, KICKED);
        return true;
      })(),
    );
  }

  setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<string[]> {
    return this.run(() =>
      this.db.transaction(() => {
        const missing = conversationIds.filter((id) => !this.q.exists.get(id));
        if (missing.length > 0) return [...new Set(missing)];
        for (const id of conversationIds) this.q.setArchive.run(isArchive ? 1 : 0, id);
        return [];
      })(),
    );
  }

  private appendTx(draft: MessageDraft, allocate: AllocateMsgId): AppendResult {
    const key = memberKey(draft.conversationId, draft.fromSession);
    let state = this.memberStates.get(key);
    let last = this.lastIds.get(draft.conversationId);
    if (state === undefined || last === undefined) {
      const row = this.q.appendCheck.get(draft.fromSession, draft.conversationId);
      if (!row) return { kind: 'not-found' };
      state = row.state;
      last = row.last_msg_id;
      remember(this.memberStates, key, state);
      remember(this.lastIds, draft.conversationId, last);
    }
    if (state !== MEMBER) return { kind: 'not-member' };
    const msgId = allocate(last);
    this.q.insertMessage.run(
      draft.conversationId,
      msgId,
      draft.fromSession,
      draft.sendTime,
      draft.status,
      draft.type,
      draft.content,
    );
    remember(this.lastIds, draft.conversationId, msgId);
    return appendedResult(draft, msgId, last);
  }

  /**
   * Appends share transactions (group commit): those that arrive in the same turn of the event
   * loop, and, while appends keep coming, all that arrive within `commitWindowMs` of the last
   * commit. A commit writes the WAL once however many rows it holds, so under load this halves
   * the store's cost per message, while an append on an idle store still commits at once. Each
   * append resolves only after its commit.
   */
  appendMessage(draft: MessageDraft, allocate: AllocateMsgId): Promise<AppendResult> {
    return this.enqueue(() => this.appendTx(draft, allocate));
  }

  /** Queues a write for the next group commit; resolves with what `run` returned, once committed. */
  private enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const write: PendingWrite = { run, resolve: resolve as (result: unknown) => void, reject };
      if (this.pending.push(write) === 1) this.scheduleCommit();
    });
  }

  private scheduleCommit(): void {
    const wait = this.lastCommitAt + this.commitWindowMs - performance.now();
    if (wait >= 1) this.commitTimer = setTimeout(this.commitPending, wait);
    else setImmediate(this.commitPending);
  }

  private readonly commitPending = (): void => {
    this.commitTimer = null;
    if (this.pending.length === 0 || this.holding) return;
    this.lastCommitAt = performance.now();
    const batch = this.pending;
    this.pending = [];
    let results: unknown[];
    try {
      results = this.writeBatch(batch);
    } catch {
      // The cached ids may name rows that were rolled back. One failure must not fail the
      // others: retry each in its own transaction.
      this.forget();
      for (const p of batch) {
        this.run(() => {
          try {
            return this.writeImmediate(p.run);
          } catch (err) {
            this.forget();
            throw err;
          }
        }).then(p.resolve, p.reject);
      }
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]));
    if (this.checkpointer === null && --this.commitsBeforeCheckpointer <= 0)
      this.startCheckpointer();
  };

  /**
   * Moves checkpoints off this thread (see `SqliteCheckpointer`). Started once appends have
   * begun to flow: until then the WAL is short, and a store that never takes messages does not
   * pay for a thread.
   */
  private startCheckpointer(): void {
    const checkpointer = new SqliteCheckpointer(
      this.path,
      {
        onPass: (walFrames) => {
          if (walFrames >= this.walRestartPages) this.restartWal(checkpointer);
        },
        onFailure: (reason) => {
          this.setAutocheckpoint(this.walRestartPages);
          this.onCheckpointFailure?.(reason);
        },
      },
      this.checkpointIntervalMs,
    );
    this.checkpointer = checkpointer;
    this.setAutocheckpoint(this.walRestartPages * FALLBACK_FACTOR);
  }

  private setAutocheckpoint(pages: number): void {
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${pages}`);
  }

  /** Holds commits while the checkpointer copies the rest of the WAL; the next commit restarts it. */
  private restartWal(checkpointer: SqliteCheckpointer): void {
    if (this.holding || !this.db.open) return;
    this.holding = true;
    void checkpointer.complete().then(() => {
      this.holding = false;
      if (this.pending.length > 0 && this.commitTimer === null) this.scheduleCommit();
    });
  }

  lastMsgId(conversationId: string): Promise<string | null> {
    return this.run(() => this.q.lastMsgId.get(conversationId)?.last_msg_id ?? null);
  }

  history(
    conversationId: string,
    direction: HistoryDirection,
    msgId: string | null,
    limit: number,
  ): Promise<Message[]> {
    return this.run(() => {
      if (direction === 'before') {
        const rows =
          msgId === null
            ? this.q.newest.all(conversationId, limit)
            : this.q.before.all(conversationId, msgId, limit);
        return rows.reverse();
      }
      return msgId === null
        ? this.q.oldest.all(conversationId, limit)
        : this.q.after.all(conversationId, msgId, limit);
    });
  }

  range(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
    fromEnd: boolean,
  ): Promise<Message[]> {
    return this.run(() =>
      fromEnd
        ? this.q.rangeDesc.all(conversationId, startId, endId, limit).reverse()
        : this.q.rangeAsc.all(conversationId, startId, endId, limit),
    );
  }

  missedMessages(session: string, afterId: string, limit: number): Promise<Message[]> {
    return this.run(() => this.q.missed.all(session, afterId, limit).reverse());
  }

  /** Joins the appends' group commit: a poll answer costs no commit of its own. */
  savePollCursor(session: string, platform: number, msgId: string, atMs: number): Promise<void> {
    return this.enqueue(() => {
      this.q.savePollCursor.run(session, platform, msgId, atMs);
    });
  }

  pollCursor(session: string, platform: number, sinceMs: number): Promise<string | null> {
    return this.run(() => this.q.pollCursor.get(session, platform, sinceMs)?.msg_id ?? null);
  }

  ping(): Promise<void> {
    return this.run(() => {
      this.q.ping.get();
    });
  }

  async close(): Promise<void> {
    if (this.commitTimer !== null) clearTimeout(this.commitTimer);
    this.holding = false;
    // Appends already accepted are committed, not failed, by a close.
    if (this.db.open) this.commitPending();
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }
}
