import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode, successBody } from '../../domain/errors.js';
import type { ConversationService } from '../../services/conversation-service.js';
import type { MessageService } from '../../services/message-service.js';
import type { ReadStateService } from '../../services/read-state-service.js';
import type { TokenClaims, TokenService } from '../../services/token-service.js';
import { authenticate } from '../auth.js';
import type { RouteDocs } from '../openapi.js';
import { answers } from '../response-schemas.js';
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

/** What `GET /openapi.json` says of a route: its summary, its `data`, its own failure codes. */
type Docs = Pick<RouteDocs, 'summary' | 'description' | 'errors'> & { readonly data: object };

interface Route {
  readonly schema: object;
  readonly docs: Docs;
  readonly handler: Handler<never>;
}

function route<B>(schema: object, docs: Docs, handler: Handler<B>): Route {
  return { schema, docs, handler };
}

const { NotMember, ConversationNotFound, RateLimited, BadConversationType } = ErrorCode;
/** A member-only read: not a member 10004, no such conversation 10005. */
const memberOnly = [NotMember, ConversationNotFound];

/** The token-protected endpoints by path, in registration order. */
const routes: Readonly<Record<string, Route>> = {
  '/send_msg': route<SendBody>(
    bodies.sendMsg,
    {
      summary: 'Send a message (members only; idempotent with client_msg_id)',
      description:
        '`client_msg_id` (optional): 1..64 characters `!`..`~`; null is none. A second send by the ' +
        'same session to the same conversation with the same `client_msg_id` within 24 hours ' +
        '(any platform, `/inner/send_msg` too, any node, across restarts) stores and pushes ' +
        "nothing and answers the first one's MsgID. A send moves the sender's read cursor to it.",
      data: answers.sentMsg,
      errors: [...memberOnly, RateLimited],
    },
    async ({ messages }, { session }, b) => {
      const m = await messages.send(session, sendInput(b));
      return { MsgID: m.MsgId };
    },
  ),

  '/check_joined_conversation': route<ConversationBody>(
    bodies.byConversation,
    {
      summary: 'Whether the caller is a member (false for an unknown conversation)',
      data: answers.joined,
    },
    async ({ conversations }, { session }, b) => ({
      Joined: await conversations.isJoined(b.conversation_id, session),
    }),
  ),

  '/get_joined_conversation': route<unknown>(
    bodies.joinedConversations,
    { summary: "The caller's conversations", data: answers.conversations },
    async ({ conversations }, { session }) => ({
      Conversations: await conversations.joined(session),
    }),
  ),

  '/get_conversation_detail': route<ConversationBody>(
    bodies.byConversation,
    { summary: 'Conversation detail (members only)', data: answers.detail, errors: memberOnly },
    ({ conversations }, { session }, b) => conversations.detail(b.conversation_id, session),
  ),

  '/join_conversation': route<ConversationBody>(
    bodies.byConversation,
    {
      summary: 'Join (idempotent; a kicked session gets 10004)',
      data: answers.byConversation,
      errors: [...memberOnly, RateLimited],
    },
    async ({ conversations }, { session }, b) => {
      await conversations.join(b.conversation_id, session);
      return { ConversationId: b.conversation_id };
    },
  ),

  '/create_conversation': route<{ conversation_type: number; sessions?: string[] }>(
    bodies.createConversation,
    {
      summary: 'Create a conversation with the caller and `sessions` as members',
      data: answers.byConversation,
      errors: [BadConversationType, RateLimited],
    },
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
    {
      summary: 'Leave (a non-member leaving is a no-op success)',
      data: answers.byConversation,
      errors: [ConversationNotFound],
    },
    async ({ conversations }, { session }, b) => {
      await conversations.leave(b.conversation_id, session);
      return { ConversationId: b.conversation_id };
    },
  ),

  '/get_lastone_msgid': route<ConversationBody>(
    bodies.byConversation,
    {
      summary: 'The newest MsgId, or null (members only)',
      data: answers.lastMsgId,
      errors: memberOnly,
    },
    async ({ messages }, { session }, b) => ({
      MsgId: await messages.lastMsgId(b.conversation_id, session),
    }),
  ),

  '/get_conversation_msg_by_range': route<
    ConversationBody & { start_msg_id: string; end_msg_id: string }
  >(
    bodies.range,
    {
      summary: 'Messages from start_msg_id to end_msg_id inclusive, at most 1,000',
      data: answers.messages,
      errors: memberOnly,
    },
    async ({ messages }, { session }, b) => ({
      Msg: await messages.range(
        b.conversation_id,
        session,
        b.start_msg_id,
        b.end_msg_id,
        b.desc === true,
      ),
    }),
  ),

  '/get_conversation_30msg_before_the_id': route<ConversationBody & { msg_id: string }>(
    bodies.aroundId,
    {
      summary: 'The 30 messages strictly before msg_id',
      data: answers.messages,
      errors: memberOnly,
    },
    async ({ messages }, { session }, b) => ({
      Msg: await messages.before(b.conversation_id, session, b.msg_id, b.desc === true),
    }),
  ),

  '/get_conversation_30msg_after_the_id': route<ConversationBody & { msg_id: string }>(
    bodies.aroundId,
    {
      summary: 'The 30 messages strictly after msg_id',
      data: answers.messages,
      errors: memberOnly,
    },
    async ({ messages }, { session }, b) => ({
      Msg: await messages.after(b.conversation_id, session, b.msg_id, b.desc === true),
    }),
  ),

  '/get_conversation_last_30_msg': route<ConversationBody>(
    bodies.history,
    { summary: 'The newest 30 messages', data: answers.messages, errors: memberOnly },
    async ({ messages }, { session }, b) => ({
      Msg: await messages.before(b.conversation_id, session, null, b.desc === true),
    }),
  ),

  '/mark_read': route<ConversationBody & { msg_id: string }>(
    bodies.markRead,
    {
      summary: "Move the caller's read cursor (never back, never past the newest)",
      description:
        'The cursor becomes max(current, min(msg_id, LastMsgID)); ReadMsgId is the cursor after ' +
        'the call (null in a conversation with no message). Joining sets it to LastMsgID.',
      data: answers.markRead,
      errors: memberOnly,
    },
    async ({ readState }, { session }, b) => ({
      ConversationId: b.conversation_id,
      ReadMsgId: await readState.markRead(b.conversation_id, session, b.msg_id),
    }),
  ),

  '/get_conversation_list': route<unknown>(
    bodies.conversationList,
    {
      summary: "The caller's conversations with read cursors and unread counts",
      description:
        'Newest LastSendTime first, conversations without messages last. Unread counts messages ' +
        'after ReadMsgId not sent by the caller, capped at 10,000; Total sums them.',
      data: answers.conversationList,
    },
    ({ readState }, { session }) => readState.conversationList(session),
  ),

  '/get_conversation_members': route<MembersPageBody>(
    bodies.members,
    {
      summary: 'A page of current members (members only)',
      description:
        '500 members per page in byte order of session, strictly after `after`. Online: a ws or ' +
        'sse connection, or a long-poll outstanding or answered within --poll-keep-ms, on any node.',
      data: answers.memberPage,
      errors: memberOnly,
    },
    ({ readState }, { session }, b) =>
      readState.membersFor(session, b.conversation_id, pageAfter(b)),
  ),

  '/get_conversation_lastone_msg': route<ConversationBody>(
    bodies.history,
    {
      summary: 'The newest message, as a list of zero or one',
      data: answers.messages,
      errors: memberOnly,
    },
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
  for (const [url, { schema, docs, handler }] of Object.entries(routes)) {
    app.post(url, {
      schema: { body: schema },
      config: { docs: { ...docs, access: 'token' } },
      onRequest,
      handler: async (request: FastifyRequest) =>
        successBody(await handler(deps, request.claims as TokenClaims, request.body as never)),
    });
  }
}
