import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CidrSet } from '../../config/cidr.js';
import type { ConversationService } from '../../services/conversation-service.js';
import type { MessageService } from '../../services/message-service.js';
import type { ReadStateService } from '../../services/read-state-service.js';
import type { TokenService } from '../../services/token-service.js';
import { successBody } from '../../domain/errors.js';
import { innerOnly } from '../auth.js';
import { bodies } from '../schemas.js';
import { pageAfter, sendInput } from './request-bodies.js';
import type { MembersPageBody, SendBody } from './request-bodies.js';
import { assertSessionIds } from './validate.js';

export interface InnerDeps {
  readonly tokens: TokenService;
  readonly conversations: ConversationService;
  readonly messages: MessageService;
  readonly readState: ReadStateService;
  readonly innerAllow: CidrSet;
}

interface MembersBody {
  conversation_id: string;
  sessions: string[];
}

/** `/inner/*`: no token, only peers inside the allow-list. */
export function registerInnerRoutes(app: FastifyInstance, deps: InnerDeps): void {
  const { conversations, tokens, messages, readState } = deps;
  const onRequest = innerOnly(deps.innerAllow);

  function post<B>(url: string, schema: object, handler: (body: B) => Promise<object>): void {
    app.post(url, {
      schema: { body: schema },
      onRequest,
      handler: (request: FastifyRequest) => handler(request.body as B),
    });
  }

  post<{ session: string; platform: number }>('/inner/get_token', bodies.getToken, async (b) => {
    assertSessionIds([b.session]);
    return successBody(await tokens.issue(b.session, b.platform));
  });

  post<{ conversation_type: number; sessions: string[] }>(
    '/inner/create_conversation',
    bodies.innerCreate,
    async (b) => {
      assertSessionIds(b.sessions);
      const id = await conversations.create(undefined, b.conversation_type, b.sessions);
      return successBody({ ConversationId: id });
    },
  );

  post<MembersBody>('/inner/kickout_conversation', bodies.innerMembers, async (b) => {
    assertSessionIds(b.sessions);
    await conversations.kick(b.conversation_id, b.sessions);
    return successBody({ ConversationId: b.conversation_id });
  });

  post<MembersBody>('/inner/join_conversation', bodies.innerMembers, async (b) => {
    assertSessionIds(b.sessions);
    await conversations.joinByInner(b.conversation_id, b.sessions);
    return successBody({ ConversationId: b.conversation_id });
  });

  post<{ conversation_ids: string[]; is_archive: boolean }>(
    '/inner/set_archive_conversations',
    bodies.setArchive,
    async (b) => {
      await conversations.setArchived(b.conversation_ids, b.is_archive);
      return successBody();
    },
  );

  post<SendBody & { from_session: string }>('/inner/send_msg', bodies.innerSendMsg, async (b) => {
    assertSessionIds([b.from_session]);
    const m = await messages.sendAs(b.from_session, sendInput(b));
    return successBody({ MsgID: m.MsgId });
  });

  post<MembersPageBody>('/inner/get_members', bodies.members, async (b) =>
    successBody(await readState.members(b.conversation_id, pageAfter(b))),
  );
}
