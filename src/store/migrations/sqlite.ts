import { MemberState } from '../member-state.js';

/** Schema versions for SQLite, applied in order; `PRAGMA user_version` records the last one run. */
export const sqliteMigrations: readonly string[] = [
  `
  CREATE TABLE conversations (
    id                TEXT PRIMARY KEY,
    type              INTEGER NOT NULL,
    is_archive        INTEGER NOT NULL DEFAULT 0,
    last_msg_id       TEXT,
    last_send_time    INTEGER,
    last_send_session TEXT
  );
  -- state: ${MemberState.Member} member, ${MemberState.Left} left, ${MemberState.Kicked} kicked
  CREATE TABLE members (
    conversation_id TEXT NOT NULL,
    session         TEXT NOT NULL,
    state           INTEGER NOT NULL,
    UNIQUE (conversation_id, session)
  );
  CREATE INDEX members_by_session ON members (session, state);
  CREATE TABLE messages (
    conversation_id TEXT NOT NULL,
    msg_id          TEXT NOT NULL,
    from_session    TEXT NOT NULL,
    send_time       INTEGER NOT NULL,
    status          INTEGER NOT NULL,
    type            INTEGER NOT NULL,
    content         TEXT NOT NULL,
    UNIQUE (conversation_id, msg_id)
  );
  `,
  `
  CREATE TABLE poll_cursors (
    session    TEXT NOT NULL,
    platform   INTEGER NOT NULL,
    msg_id     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (session, platform)
  ) WITHOUT ROWID;
  `,
  // The last-message fields are read from the messages index instead (no per-append update).
  `
  ALTER TABLE conversations DROP COLUMN last_msg_id;
  ALTER TABLE conversations DROP COLUMN last_send_time;
  ALTER TABLE conversations DROP COLUMN last_send_session;
  `,
  // Revoked tokens (/inner/revoke_session); platform -1 stands for every platform.
  `
  CREATE TABLE revocations (
    session        TEXT NOT NULL,
    platform       INTEGER NOT NULL,
    revoked_before INTEGER NOT NULL,
    PRIMARY KEY (session, platform)
  ) WITHOUT ROWID;
  CREATE INDEX revocations_by_time ON revocations (revoked_before);
  `,
  // Chat state (issue 15): read cursors, each sender's newest message by index, idempotency keys.
  `
  ALTER TABLE members ADD COLUMN read_msg_id TEXT;
  CREATE INDEX messages_by_sender ON messages (conversation_id, from_session, msg_id);
  CREATE TABLE client_msg_ids (
    conversation_id TEXT NOT NULL,
    from_session    TEXT NOT NULL,
    client_msg_id   TEXT NOT NULL,
    msg_id          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, from_session, client_msg_id)
  ) WITHOUT ROWID;
  CREATE INDEX client_msg_ids_by_age ON client_msg_ids (created_at);
  `,
  // Webhooks (issue 16): the outbox, written in the transaction of what each event reports.
  `
  CREATE TABLE webhook_outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER
  );
  CREATE INDEX webhook_outbox_by_conversation ON webhook_outbox (conversation_id, seq);
  `,
];
