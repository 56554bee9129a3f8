import type { FastifyInstance, FastifyRequest } from 'fastify';
import { successBody } from '../../domain/errors.js';
import type { ConversationService } from '../../services/conversation-service.js';
import type { MessageService } from '../../services/message-service.js';
import type { ReadStateService } from '../../services/read-state-service.js';
import type { TokenClaims, TokenService } from '../../services/token-service.js';
import { authenticate } from '../auth.js';
import { bodies } from '../schemas.js';
import { pageAfter, sendInput } from './request-bodies.js';
import type { MembersPageBody, SendBody } from './request-bodies.js';
import { assertSessionIds } from './validate.js';

export interface PublicDeps {
  readonly tokens: TokenService;
  readonly conversations: ConversationService;
  readonly messages: MessageService;
  readonly readState: ReadStateService;
}

interface ConversationBody {
  conversation_id: string;
  desc?: boolean;
}

/** Answers the `data` of the success envelope for the token's session and a validated body. */
type Handler<B> = (deps: PublicDeps, claims: TokenClaims, body: B) => Promise<unknown>;

interface Route {
  readonly schema: object;
  readonly handler: Handler<never>;
}

function route<B>(schema: object, handler: Handler<B>): Route {
  return { schema, handler };
}

/** The token-protected endpoints by path, in registration order. */
const routes: Readonly<Record<string, Route>> = {
  '/send_msg': route<SendBody>(bodies.sendMsg, async ({ messages }, { session }, b) => {
    const m = await messages.send(session, sendInput(b));
    return { MsgID: m.MsgId };
  }),

  '/check_joined_conversation': route<ConversationBody>(
    bodies.byConversation,
    async ({ conversations }, { session }, b) => ({
      Joined: await conversations.isJoined(b.conversation_id, session),
    }),
  ),

  '/get_joined_conversation': route<unknown>(
    bodies.joinedConversations,
    async ({ conversations }, { session }) => ({
      Conversations: await conversations.joined(session),
    }),
  ),

  '/get_conversation_detail': route<ConversationBody>(
    bodies.byConversation,
    ({ conversations }, { session }, b) => conversations.detail(b.conversation_id, session),
  ),

  '/join_conversation': route<ConversationBody>(
    bodies.byConversation,
    async ({ conversations }, { session }, b) => {
      await conversations.join(b.conversation_id, session);
      return { ConversationId: b.conversation_id };
    },
  ),

  '/create_conversation': route<{ conversation_type: number; sessions?: string[] }>(
    bodies.createConversation,
    async ({ conversations }, { session }, b) => {
      const sessions = b.sessions ?? [];
      assertSessionIds(sessions);
      return {
        ConversationId: await conversations.create(session, b.conversation_type, sessions),
      };
    },
  ),

  '/leave_conversation': route<ConversationBody>(
    bodies.byConversation,
    async ({ conversations }, { session }, b) => {
      await conversations.leave(b.conversation_id, session);
      return { ConversationId: b.conversation_id };
    },
  ),

  '/get_lastone_msgid': route<ConversationBody>(
    bodies.byConversation,
    async ({ messages }, { session }, b) => ({
      MsgId: await messages.lastMsgId(b.conversation_id, session),
    }),
  ),

  '/get_conversation_msg_by_range': route<
    ConversationBody & { start_msg_id: string; end_msg_id: string }
  >(bodies.range, async ({ messages }, { session }, b) => ({
    Msg: await messages.range(
      b.conversation_id,
      session,
      b.start_msg_id,
      b.end_msg_id,
      b.desc === true,
    ),
  })),

  '/get_conversation_30msg_before_the_id': route<ConversationBody & { msg_id: string }>(
    bodies.aroundId,
    async ({ messages }, { session }, b) => ({
      Msg: await messages.before(b.conversation_id, session, b.msg_id, b.desc === true),
    }),
  ),

  '/get_conversation_30msg_after_the_id': route<ConversationBody & { msg_id: string }>(
    bodies.aroundId,
    async ({ messages }, { session }, b) => ({
      Msg: await messages.after(b.conversation_id, session, b.msg_id, b.desc === true),
    }),
  ),

  '/get_conversation_last_30_msg': route<ConversationBody>(
    bodies.history,
    async ({ messages }, { session }, b) => ({
      Msg: await messages.before(b.conversation_id, session, null, b.desc === true),
    }),
  ),

  '/mark_read': route<ConversationBody & { msg_id: string }>(
    bodies.markRead,
    async ({ readState }, { session }, b) => ({
      ConversationId: b.conversation_id,
      ReadMsgId: await readState.markRead(b.conversation_id, session, b.msg_id),
    }),
  ),

  '/get_conversation_list': route<unknown>(bodies.conversationList, ({ readState }, { session }) =>
    readState.conversationList(session),
  ),

  '/get_conversation_members': route<MembersPageBody>(
    bodies.members,
    ({ readState }, { session }, b) =>
      readState.membersFor(session, b.conversation_id, pageAfter(b)),
  ),

  '/get_conversation_lastone_msg': route<ConversationBody>(
    bodies.history,
    async ({ messages }, { session }, b) => ({
      Msg: await messages.lastOne(b.conversation_id, session),
    }),
  ),
};

/** The push endpoint, registered by the notify route; public like the routes above. */
const NOTIFY_PATH = '/notify';

/** Every path a page on any origin may call (CORS): the routes above and `/notify`. */
export const publicPaths: ReadonlySet<string> = new Set([...Object.keys(routes), NOTIFY_PATH]);

/** The token-protected endpoints: parse, call a service, wrap the envelope. */
export function registerPublicRoutes(app: FastifyInstance, deps: PublicDeps): void {
  // onRequest: an unauthenticated request is refused before its body is read.
  const onRequest = authenticate(deps.tokens);
  for (const [url, { schema, handler }] of Object.entries(routes)) {
    app.post(url, {
      schema: { body: schema },
      onRequest,
      handler: async (request: FastifyRequest) =>
        successBody(await handler(deps, request.claims as TokenClaims, request.body as never)),
    });
  }
}
