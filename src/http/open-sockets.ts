import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** A server's open sockets, counted from construction on, so a shutdown can wait for none. */
export class OpenSockets {
  private readonly sockets = new Set<Socket>();
  private onEmpty: (() => void) | undefined;

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        if (this.sockets.size === 0) this.onEmpty?.();
      });
    });
  }

  /** Resolves after `ms`, or sooner once no socket is open. */
  lingered(ms: number): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.onEmpty = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.onEmpty = done;
    });
  }
}
