import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TokenClaims } from '../../services/token-service.js';
import type { ConversationService } from '../../services/conversation-service.js';
import type { MessageService } from '../../services/message-service.js';
import type { TokenService } from '../../services/token-service.js';
import { authenticate } from '../server.js';
import { bodies } from '../schemas.js';
import { assertSessionIds } from './validate.js';

export interface PublicDeps {
  readonly tokens: TokenService;
  readonly conversations: ConversationService;
  readonly messages: MessageService;
}

interface ConversationBody {
  conversation_id: string;
  desc?: boolean;
}

type Handler<B> = (claims: TokenClaims, body: B) => Promise<unknown>;

/** The token-protected endpoints: parse, call a service, wrap the envelope. */
export function registerPublicRoutes(app: FastifyInstance, deps: PublicDeps): void {
  const { conversations, messages } = deps;
  // onRequest: an unauthenticated request is refused before its body is read.
  const onRequest = authenticate(deps.tokens);

  function post<B>(url: string, schema: object, handler: Handler<B>): void {
    app.post(url, {
      schema: { body: schema },
      onRequest,
      handler: async (request: FastifyRequest) => {
        const data = await handler(request.claims as TokenClaims, request.body as B);
        return { code: 0, data };
      },
    });
  }

  post<{ conversation_id: string; status: number; type: number; content: string }>(
    '/send_msg',
    bodies.sendMsg,
    async ({ session }, b) => {
      const m = await messages.send(session, {
        conversationId: b.conversation_id,
        status: b.status,
        type: b.type,
        content: b.content,
      });
      return { MsgID: m.MsgId };
    },
  );

  post<ConversationBody>(
    '/check_joined_conversation',
    bodies.byConversation,
    async ({ session }, b) => ({
      Joined: await conversations.isJoined(b.conversation_id, session),
    }),
  );

  post<unknown>('/get_joined_conversation', bodies.joinedConversations, async ({ session }) => ({
    Conversations: await conversations.joined(session),
  }));

  post<ConversationBody>('/get_conversation_detail', bodies.byConversation, ({ session }, b) =>
    conversations.detail(b.conversation_id, session),
  );

  post<ConversationBody>('/join_conversation', bodies.byConversation, async ({ session }, b) => {
    await conversations.join(b.conversation_id, session);
    return { ConversationId: b.conversation_id };
  });

  post<{ conversation_type: number; sessions?: string[] }>(
    '/create_conversation',
    bodies.createConversation,
    async ({ session }, b) => {
      const sessions = b.sessions ?? [];
      assertSessionIds(sessions);
      return {
        ConversationId: await conversations.create(session, b.conversation_type, sessions),
      };
    },
  );

  post<ConversationBody>('/leave_conversation', bodies.byConversation, async ({ session }, b) => {
    await conversations.leave(b.conversation_id, session);
    return { ConversationId: b.conversation_id };
  });

  post<ConversationBody>('/get_lastone_msgid', bodies.byConversation, async ({ session }, b) => ({
    MsgId: await messages.lastMsgId(b.conversation_id, session),
  }));

  post<ConversationBody & { start_msg_id: string; end_msg_id: string }>(
    '/get_conversation_msg_by_range',
    bodies.range,
    async ({ session }, b) => ({
      Msg: await messages.range(
        b.conversation_id,
        session,
        b.start_msg_id,
        b.end_msg_id,
        b.desc === true,
      ),
    }),
  );

  post<ConversationBody & { msg_id: string }>(
    '/get_conversation_30msg_before_the_id',
    bodies.aroundId,
    async ({ session }, b) => ({
      Msg: await messages.before(b.conversation_id, session, b.msg_id, b.desc === true),
    }),
  );

  post<ConversationBody & { msg_id: string }>(
    '/get_conversation_30msg_after_the_id',
    bodies.aroundId,
    async ({ session }, b) => ({
      Msg: await messages.after(b.conversation_id, session, b.msg_id, b.desc === true),
    }),
  );

  post<ConversationBody>(
    '/get_conversation_last_30_msg',
    bodies.history,
    async ({ session }, b) => ({
      Msg: await messages.before(b.conversation_id, session, null, b.desc === true),
    }),
  );

  post<ConversationBody>(
    '/get_conversation_lastone_msg',
    bodies.history,
    async ({ session }, b) => ({
      Msg: await messages.lastOne(b.conversation_id, session),
    }),
  );
}
