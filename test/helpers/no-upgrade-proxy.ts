import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface NoUpgradeProxy {
  /** `http://127.0.0.1:<port>`: plain HTTP (including SSE streams) reaches the target. */
  readonly url: string;
  /** How many WebSocket upgrades were refused. */
  readonly refusedUpgrades: number;
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of `targetUrl` that forwards ordinary HTTP requests, streaming
 * both ways, and cuts every WebSocket upgrade: what a client behind a proxy that does not
 * speak WebSocket sees.
 */
export async function startNoUpgradeProxy(targetUrl: string): Promise<NoUpgradeProxy> {
  const target = new URL(targetUrl);
  let refusedUpgrades = 0;
  const server = createServer((req, res) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (_req, socket) => {
    refusedUpgrades += 1;
    socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get refusedUpgrades() {
      return refusedUpgrades;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
