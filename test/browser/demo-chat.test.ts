import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startNoUpgradeProxy } from '../helpers/no-upgrade-proxy.js';
import type { NoUpgradeProxy } from '../helpers/no-upgrade-proxy.js';
import { skipReason } from '../helpers/processes.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { DemoPage, chromiumMissing, launchChromium } from './demo-page.js';

describe('demo chat in Chromium', { skip: skipReason(chromiumMissing()) }, () => {
  let server: TestServer;
  let browser: Browser;
  const pages: DemoPage[] = [];

  async function open(baseUrl = server.url): Promise<DemoPage> {
    const page = await DemoPage.open(browser, baseUrl);
    pages.push(page);
    return page;
  }

  before(async () => {
    [server, browser] = await Promise.all([startServer({ demo: true }), launchChromium()]);
  });

  after(async () => {
    await Promise.allSettled(pages.map((p) => p.close()));
    await browser?.close();
    await server?.close(true);
  });

  it('lets two sessions chat both ways, each seeing the other live over WebSocket', async () => {
    const [alice, bob] = await Promise.all([open(), open()]);
    await Promise.all([alice.signIn('alice', 1), bob.signIn('bob', 1)]);
    await alice.seeText('transport', 'ws');

    const id = await alice.createConversation(['bob']);
    await alice.send('hello bob');
    // Bob learns of the conversation from the pushed message, and opens it.
    await bob.openConversation(id);
    await bob.see(bob.message('hello bob'), 'bob sees the history');

    await bob.send('hi alice');
    await alice.see(alice.message('hi alice'), "alice sees bob's message live");
    await alice.send('<img src=x onerror=alert(1)><b>not bold</b>');
    await bob.see(bob.message('<img src=x onerror=alert(1)><b>not bold</b>'), 'bob sees it live');
    assert.equal(await bob.byTestId('messages').locator('img, b').count(), 0, 'content is text');
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  it('falls back to SSE when WebSocket upgrades are refused, and still chats', async () => {
    const proxy: NoUpgradeProxy = await startNoUpgradeProxy(server.url);
    try {
      const [carol, dave] = await Promise.all([open(proxy.url), open(proxy.url)]);
      await Promise.all([carol.signIn('carol', 1), dave.signIn('dave', 1)]);
      await carol.seeText('transport', 'sse');
      await dave.seeText('transport', 'sse');
      assert.ok(proxy.refusedUpgrades >= 2, `refused ${proxy.refusedUpgrades} upgrades`);

      const id = await carol.createConversation(['dave']);
      await carol.send('over sse');
      await dave.openConversation(id);
      await dave.see(dave.message('over sse'), 'dave sees the history');
      await dave.send('back over sse');
      await carol.see(carol.message('back over sse'), "carol sees dave's message live");
    } finally {
      await proxy.close();
    }
  });

  it('shows the history after a reload, and loads older messages when scrolled to the top', async () => {
    const erin = await open();
    await erin.signIn('erin', 1);
    const id = await erin.createConversation([]);
    // 40 messages: more than the 30 an open conversation shows at first.
    const token = await server.token('erin', 9);
    for (let i = 1; i <= 40; i++) {
      const content = `note ${String(i).padStart(2, '0')}`;
      const res = await server.post(
        '/send_msg',
        { conversation_id: id, status: 0, type: 1, content },
        token,
      );
      assert.equal(res.status, 200);
    }
    await erin.see(erin.message('note 40'), 'the pushed messages');
    const stored = await erin.page.evaluate(
      'Object.entries(localStorage).find(([k]) => k.startsWith("quickim-demo:lastMsgId:"))?.[1]',
    );
    assert.equal(stored, await erin.byTestId('message').last().getAttribute('data-msg-id'));

    await erin.page.reload();
    await erin.seeText('state', 'connected');
    await erin.seeText('conversation-id', id);
    await erin.see(erin.message('note 40'), 'the history after the reload');
    assert.equal(await erin.byTestId('message').count(), 30);
    assert.equal(await erin.byTestId('message').first().locator('.text').textContent(), 'note 11');

    await erin.byTestId('scroller').hover();
    await erin.page.mouse.wheel(0, -100_000);
    await erin.see(erin.message('note 01'), 'older messages after scrolling to the top');
    assert.equal(await erin.byTestId('message').count(), 40);
    await erin.seeText('history-note', 'Start of the conversation');
    assert.deepEqual(erin.problems, []);
  });

  it('shows unread badges that clear on read, "Seen by" for the sender, and online dots', async () => {
    const [gina, hank, hankToo] = await Promise.all([open(), open(), open()]);
    await Promise.all([gina.signIn('gina', 1), hank.signIn('hank', 1), hankToo.signIn('hank', 2)]);
    const id = await gina.createConversation(['hank']);
    await gina.see(gina.member('hank', true), "hank's online dot in gina's member list");
    assert.equal(await gina.member('gina', true).count(), 1, 'gina is online too');

    for (const text of ['one', 'two', 'three']) await gina.send(text);
    // Hank has the conversation in his list on both platforms, not open: three unread.
    await hank.see(hank.unread(id).filter({ hasText: /^3$/ }), "hank's badge reads 3");
    await hankToo.see(hankToo.unread(id).filter({ hasText: /^3$/ }), 'on his other platform too');
    assert.equal(await gina.unread(id).isVisible(), false, "gina's own messages are not unread");
    assert.equal(await gina.byTestId('seen').count(), 0, 'nobody has read yet');

    // Hank opens it: read at once; his badge clears, on his other platform through the read
    // event, and gina sees "Seen by hank" under the last message.
    await hank.openConversation(id);
    await hank.see(hank.message('three'), 'the history');
    await hank.seeGone(hank.unread(id), "hank's badge clears");
    await hankToo.seeGone(hankToo.unread(id), "the other platform's badge clears");
    await gina.see(gina.seenUnder('three').filter({ hasText: /^Seen by hank$/ }), 'seen by hank');
    assert.equal(await gina.byTestId('seen').count(), 1, 'one "Seen by" line');

    // Gina moves to another conversation; hank's reply then counts as unread for her.
    const other = await gina.createConversation([]);
    await hank.send('reply');
    await gina.see(gina.unread(id).filter({ hasText: /^1$/ }), "gina's badge reads 1");
    assert.equal(await gina.unread(other).isVisible(), false);
    await gina.openConversation(id);
    await gina.see(gina.message('reply'), 'the reply');
    await gina.seeGone(gina.unread(id), "gina's badge clears");
    await hank.see(hank.seenUnder('reply').filter({ hasText: /^Seen by gina$/ }), 'seen by gina');
    // Hank's own reply moved his cursor: his "Seen by" under gina's message is gone.
    assert.equal(await gina.byTestId('seen').count(), 0);

    // Hank closes both pages: his dot goes off in gina's list (presence is re-read periodically).
    await Promise.all([hank.close(), hankToo.close()]);
    await gina.see(gina.member('hank', false), "hank's dot goes off");
    assert.deepEqual([...gina.problems, ...hank.problems, ...hankToo.problems], []);
  });

  it('shows "signed in elsewhere" when the same session and platform sign in again', async () => {
    const [first, second] = await Promise.all([open(), open()]);
    await first.signIn('frank', 3);
    assert.equal(await first.byTestId('replaced-banner').isVisible(), false);
    await second.signIn('frank', 3);
    await first.see(first.page.getByText('signed in elsewhere'), 'the replaced banner');
    await first.seeText('state', 'replaced');
    await second.seeText('state', 'connected');
    assert.equal(await second.byTestId('replaced-banner').isVisible(), false);
  });
});
