import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { startNoUpgradeProxy } from '../helpers/no-upgrade-proxy.js';
import type { NoUpgradeProxy } from '../helpers/no-upgrade-proxy.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { TEST_TIMEOUT_MS } from './sdk-helpers.js';

/** The system Chromium; a browser is never downloaded. */
const CHROMIUM = '/usr/bin/chromium';
const dist = fileURLToPath(new URL('../../packages/client/dist/', import.meta.url));

// The page imports the built SDK as a plain ES module, from another origin than the server.
const PAGE = `<!doctype html><script type="module">
import { QuickImClient } from '/sdk/index.js';
window.receiveOne = async (baseUrl, token, transport, senderToken, conversationId) => {
  const client = new QuickImClient({ baseUrl, token, transport });
  const transports = [];
  client.on('connected', (e) => transports.push(e.transport));
  const received = new Promise((resolve) => client.on('message', (m) => resolve(m.Content)));
  await client.connect();
  const sender = new QuickImClient({ baseUrl, token: senderToken });
  await sender.sendMessage({ conversationId, content: 'hello ' + transport });
  const content = await received;
  client.close();
  return { transports, content, state: client.state };
};
</script>`;

interface Outcome {
  readonly transports: string[];
  readonly content: string;
  readonly state: string;
}

/** Serves the page and `packages/client/dist` under `/sdk/`. */
async function startPageServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/sdk/')) {
      const file = normalize(dist + path.slice('/sdk/'.length));
      if (!file.startsWith(dist) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // `localhost` against the quick-im server's `127.0.0.1`: a cross-origin page, so CORS counts.
  return { url: `http://localhost:${(server.address() as AddressInfo).port}/`, server };
}

describe(
  'QuickImClient in Chromium',
  { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}` },
  () => {
    let server: TestServer;
    let proxy: NoUpgradeProxy;
    let pages: { url: string; server: Server };
    let browser: Browser;
    let page: Page;
    let conversationId: string;
    let platform = 1;
    const errors: string[] = [];

    before(async () => {
      server = await startServer();
      proxy = await startNoUpgradeProxy(server.url);
      pages = await startPageServer();
      conversationId = await server.createConversation(['alice', 'bob']);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      });
      page = await browser.newPage();
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(pages.url);
    });
    after(async () => {
      await browser?.close();
      pages?.server.close();
      await proxy?.close();
      await server?.close(true);
    });

    async function receiveOne(baseUrl: string, transport: string): Promise<Outcome> {
      const args = [
        baseUrl,
        await server.token('bob', platform++),
        transport,
        await server.token('alice'),
        conversationId,
      ];
      return page.evaluate(
        (a) =>
          (
            globalThis as unknown as { receiveOne: (...x: string[]) => Promise<Outcome> }
          ).receiveOne(...a),
        args,
      );
    }

    for (const transport of ['ws', 'sse', 'poll', 'auto']) {
      it(
        `receives a message over ${transport}, cross-origin`,
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const outcome = await receiveOne(server.url, transport);
          assert.deepEqual(outcome, {
            transports: [transport === 'auto' ? 'ws' : transport],
            content: `hello ${transport}`,
            state: 'closed',
          });
          assert.deepEqual(errors, []);
        },
      );
    }

    it(
      "'auto' falls back to sse when WebSocket upgrades are refused",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const refusedBefore = proxy.refusedUpgrades;
        const outcome = await receiveOne(proxy.url, 'auto');
        assert.deepEqual(outcome, { transports: ['sse'], content: 'hello auto', state: 'closed' });
        assert.ok(proxy.refusedUpgrades > refusedBefore);
      },
    );
  },
);
