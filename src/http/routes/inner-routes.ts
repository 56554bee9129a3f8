import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConversationService } from '../../services/conversation-service.js';
import type { MessageService } from '../../services/message-service.js';
import type { ReadStateService } from '../../services/read-state-service.js';
import type { RevocationService } from '../../services/revocation-service.js';
import type { TokenService } from '../../services/token-service.js';
import { ErrorCode, successBody } from '../../domain/errors.js';
import type { PresenceReader } from '../../domain/presence.js';
import type { InnerGate } from '../auth.js';
import type { RouteDocs } from '../openapi.js';
import { answers } from '../response-schemas.js';
import { bodies, presenceBodies } from '../schemas.js';
import { pageAfter, sendInput } from './request-bodies.js';
import type { MembersPageBody, SendBody } from './request-bodies.js';
import { assertSessionIds } from './validate.js';

export interface InnerDeps {
  readonly tokens: TokenService;
  readonly conversations: ConversationService;
  readonly messages: MessageService;
  readonly readState: ReadStateService;
  /** Admits the caller (loopback or `--inner-allow`, no untrusted proxy, no browser page). */
  readonly gate: InnerGate;
}

interface MembersBody {
  conversation_id: string;
  sessions: string[];
}

/** What `GET /openapi.json` says of an inner route beside its body schema. */
type InnerDocs = Pick<RouteDocs, 'summary' | 'description' | 'errors' | 'data'>;

const { ConversationNotFound, BadConversationType, NoMembers } = ErrorCode;

/** `/inner/*`: no token, only callers the gate admits. */
export function registerInnerRoutes(app: FastifyInstance, deps: InnerDeps): void {
  const { conversations, tokens, messages, readState } = deps;
  const onRequest = deps.gate.hook();

  function post<B>(
    url: string,
    schema: object,
    docs: InnerDocs,
    handler: (body: B) => Promise<object>,
  ): void {
    app.post(url, {
      schema: { body: schema },
      config: { docs: { ...docs, access: 'inner' } },
      onRequest,
      handler: (request: FastifyRequest) => handler(request.body as B),
    });
  }

  post<{ session: string; platform: number }>(
    '/inner/get_token',
    bodies.getToken,
    { summary: 'A token for a session on a platform', data: answers.token },
    async (b) => {
      assertSessionIds([b.session]);
      return successBody(await tokens.issue(b.session, b.platform));
    },
  );

  post<{ conversation_type: number; sessions: string[] }>(
    '/inner/create_conversation',
    bodies.innerCreate,
    {
      summary: 'Create a conversation with `sessions` as members',
      data: answers.byConversation,
      errors: [BadConversationType, NoMembers],
    },
    async (b) => {
      assertSessionIds(b.sessions);
      const id = await conversations.create(undefined, b.conversation_type, b.sessions);
      return successBody({ ConversationId: id });
    },
  );

  post<MembersBody>(
    '/inner/kickout_conversation',
    bodies.innerMembers,
    {
      summary: 'Remove members; they may come back only by an inner join',
      data: answers.byConversation,
      errors: [ConversationNotFound],
    },
    async (b) => {
      assertSessionIds(b.sessions);
      await conversations.kick(b.conversation_id, b.sessions);
      return successBody({ ConversationId: b.conversation_id });
    },
  );

  post<MembersBody>(
    '/inner/join_conversation',
    bodies.innerMembers,
    {
      summary: 'Add members (a kicked session too)',
      data: answers.byConversation,
      errors: [ConversationNotFound],
    },
    async (b) => {
      assertSessionIds(b.sessions);
      await conversations.joinByInner(b.conversation_id, b.sessions);
      return successBody({ ConversationId: b.conversation_id });
    },
  );

  post<{ conversation_ids: string[]; is_archive: boolean }>(
    '/inner/set_archive_conversations',
    bodies.setArchive,
    {
      summary: 'Set or clear IsArchive on conversations',
      data: null,
      errors: [ConversationNotFound],
    },
    async (b) => {
      await conversations.setArchived(b.conversation_ids, b.is_archive);
      return successBody();
    },
  );

  post<SendBody & { from_session: string }>(
    '/inner/send_msg',
    bodies.innerSendMsg,
    {
      summary: 'Send as any session (need not be a member)',
      data: answers.sentMsg,
      errors: [ConversationNotFound],
    },
    async (b) => {
      assertSessionIds([b.from_session]);
      const m = await messages.sendAs(b.from_session, sendInput(b));
      return successBody({ MsgID: m.MsgId });
    },
  );

  post<MembersPageBody>(
    '/inner/get_members',
    bodies.members,
    {
      summary: 'A page of current members, without the membership check',
      data: answers.memberPage,
      errors: [ConversationNotFound],
    },
    async (b) => successBody(await readState.members(b.conversation_id, pageAfter(b))),
  );
}

export interface PresenceDeps {
  readonly presence: PresenceReader;
  readonly revocations: Pick<RevocationService, 'revoke'>;
  readonly gate: InnerGate;
}

/** `/inner/get_presence` and `/inner/revoke_session`: who is online, and ending a session's tokens. */
export function registerPresenceRoutes(app: FastifyInstance, deps: PresenceDeps): void {
  const { presence, revocations } = deps;
  const onRequest = deps.gate.hook();

  app.post('/inner/get_presence', {
    schema: { body: presenceBodies.getPresence },
    config: {
      docs: {
        summary: 'Who is online, on which platforms, on any node',
        description:
          'Online: a ws or sse connection, or a long-poll outstanding or answered within ' +
          '--poll-keep-ms, on any node (at most ~2 s behind). Platforms ascending; in the order asked.',
        access: 'inner',
        data: answers.presence,
      },
    },
    onRequest,
    handler: async (request: FastifyRequest) => {
      const { sessions } = request.body as { sessions: string[] };
      assertSessionIds(sessions);
      return successBody({
        Presence: sessions.map((session) => {
          const platforms = presence.platformsOf(session);
          return { Session: session, Online: platforms.length > 0, Platforms: platforms };
        }),
      });
    },
  });

  app.post('/inner/revoke_session', {
    schema: { body: presenceBodies.revokeSession },
    config: {
      docs: {
        summary: "Refuse a session's tokens issued up to now, and close its push connections",
        description:
          'Every token of the session (or of `platform`) issued at or before RevokedBefore (Unix ' +
          'seconds) answers 401 / 10101 from then on, on every node and after restarts; its push ' +
          'connections close (WebSocket 4011, SSE `event: revoked`, a waiting poll 401 / 10101).',
        access: 'inner',
        data: answers.revoked,
      },
    },
    onRequest,
    handler: async (request: FastifyRequest) => {
      const b = request.body as { session: string; platform?: number | null };
      assertSessionIds([b.session]);
      const platform = b.platform ?? null;
      const revokedBefore = await revocations.revoke(b.session, platform);
      return successBody({
        Session: b.session,
        ...(platform === null ? {} : { Platform: platform }),
        RevokedBefore: revokedBefore,
      });
    },
  });
}
