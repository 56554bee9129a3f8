import { DisconnectReason, WsCloseCode, endForWsClose } from '../close-reasons.js';
import type { WebSocketConstructor, WebSocketEventLike, WebSocketLike } from '../types.js';
import { notifyUrl, parseFrame } from './notify-request.js';
import type {
  ConnectParams,
  PushConnection,
  PushEnd,
  PushHandlers,
  PushTransport,
} from './transport.js';

/**
 * Push over WebSocket: one text frame per MsgData or event. The token goes in `?token=`, because
 * browsers cannot set headers on a WebSocket handshake. For the same reason a refused
 * handshake (401, 502 from a proxy) is only seen as a close before `open`, code 1006: the
 * caller treats that as a reason to try the next transport, which can see the status.
 */
export class WsTransport implements PushTransport {
  readonly name = 'ws' as const;

  /**
   * @param checkToken when given, a connection that closes before opening asks it whether the
   *   token was the reason (false: rejected) and then ends as `unauthorized` rather than
   *   `retry`. Meant for when no other transport follows ws to reveal a 401.
   */
  constructor(
    private readonly WebSocketImpl: WebSocketConstructor,
    private readonly checkToken?: (token: string, signal: AbortSignal) => Promise<boolean | null>,
  ) {}

  connect(params: ConnectParams, handlers: PushHandlers): PushConnection {
    let ended = false;
    // Cancels the token check, if one runs when close() comes.
    const abort = new AbortController();
    const end = (why: PushEnd): void => {
      if (ended) return;
      ended = true;
      handlers.onEnd(why);
    };

    let socket: WebSocketLike;
    try {
      socket = new this.WebSocketImpl(notifyUrl(params, 'ws', { token: params.token }));
    } catch {
      // A URL the constructor refuses: report it like a failed handshake, after `connect` returns.
      queueMicrotask(() => end({ kind: 'retry', reason: DisconnectReason.Network }));
      return {
        close() {
          ended = true;
        },
      };
    }

    let opened = false;
    socket.addEventListener('open', () => {
      if (ended) return;
      opened = true;
      handlers.onOpen();
    });
    socket.addEventListener('message', (event: WebSocketEventLike) => {
      if (ended) return;
      const frame = typeof event.data === 'string' ? parseFrame(event.data) : null;
      if (frame === null) {
        end({ kind: 'retry', reason: DisconnectReason.ProtocolError });
        socket.close(WsCloseCode.Normal);
        return;
      }
      if (frame.kind === 'event') handlers.onEvent(frame.event);
      if (frame.kind !== 'messages') return;
      for (const msg of frame.messages) {
        if (ended) return;
        handlers.onMessage(msg);
      }
    });
    socket.addEventListener('close', (event: WebSocketEventLike) => {
      const why = endForWsClose(event.code ?? WsCloseCode.Abnormal);
      const checkToken = this.checkToken;
      if (opened || ended || checkToken === undefined) {
        end(why);
        return;
      }
      void checkToken(params.token, abort.signal).then((accepted) =>
        end(accepted === false ? { kind: 'unauthorized' } : why),
      );
    });
    // Every error is followed by a close event, which carries the outcome. The listener stays
    // after close() so that a late error (e.g. closing while still connecting) is never unhandled.
    socket.addEventListener('error', () => {});

    return {
      close() {
        if (ended) return;
        ended = true;
        abort.abort();
        socket.close(WsCloseCode.Normal);
      },
    };
  }
}
