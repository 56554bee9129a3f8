import { MemberState } from '../member-state.js';

/** Schema versions for PostgreSQL, applied in order under an advisory lock; `quickim_schema` records them. */
export const postgresMigrations: readonly string[] = [
  `
  CREATE TABLE conversations (
    id                TEXT PRIMARY KEY,
    type              INTEGER NOT NULL,
    is_archive        BOOLEAN NOT NULL DEFAULT FALSE,
    last_msg_id       TEXT COLLATE "C",
    last_send_time    BIGINT,
    last_send_session TEXT
  );
  -- state: ${MemberState.Member} member, ${MemberState.Left} left, ${MemberState.Kicked} kicked; seq orders a session's memberships
  CREATE TABLE members (
    conversation_id TEXT NOT NULL,
    session         TEXT NOT NULL,
    state           SMALLINT NOT NULL,
    seq             BIGSERIAL,
    PRIMARY KEY (conversation_id, session)
  );
  CREATE INDEX members_by_session ON members (session, state);
  CREATE TABLE messages (
    conversation_id TEXT NOT NULL,
    msg_id          TEXT COLLATE "C" NOT NULL,
    from_session    TEXT NOT NULL,
    send_time       BIGINT NOT NULL,
    status          INTEGER NOT NULL,
    type            INTEGER NOT NULL,
    content         TEXT NOT NULL,
    PRIMARY KEY (conversation_id, msg_id)
  );
  CREATE SEQUENCE quickim_node_numbers;
  `,
  `
  CREATE TABLE poll_cursors (
    session    TEXT NOT NULL,
    platform   INTEGER NOT NULL,
    msg_id     TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session, platform)
  );
  `,
  // Revoked tokens (/inner/revoke_session); platform -1 stands for every platform.
  `
  CREATE TABLE revocations (
    session        TEXT NOT NULL,
    platform       INTEGER NOT NULL,
    revoked_before BIGINT NOT NULL,
    PRIMARY KEY (session, platform)
  );
  CREATE INDEX revocations_by_time ON revocations (revoked_before);
  `,
  // Chat state (issue 15): read cursors, each sender's newest message by index, idempotency keys.
  `
  ALTER TABLE members ADD COLUMN read_msg_id TEXT COLLATE "C";
  CREATE INDEX messages_by_sender ON messages (conversation_id, from_session, msg_id);
  CREATE TABLE client_msg_ids (
    conversation_id TEXT NOT NULL,
    from_session    TEXT NOT NULL,
    client_msg_id   TEXT NOT NULL,
    msg_id          TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, from_session, client_msg_id)
  );
  CREATE INDEX client_msg_ids_by_age ON client_msg_ids (created_at);
  `,
  // Webhooks (issue 16): the outbox, written in the transaction of what each event reports.
  `
  CREATE TABLE webhook_outbox (
    seq             BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT
  );
  CREATE INDEX webhook_outbox_by_conversation ON webhook_outbox (conversation_id, seq);
  `,
];
