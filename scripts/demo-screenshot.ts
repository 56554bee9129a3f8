// Writes docs/demo.png, the README's "Demo" picture: alice's page of the demo chat with an unread
// badge, "Seen by" and the member list's online dots. Runs the compiled server (`npm run build`
// first) with --demo on a temporary data dir, and the system Chromium (never a downloaded one):
// `npx tsx scripts/demo-screenshot.ts`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DemoPage, chromiumMissing, launchChromium } from '../test/browser/demo-page.js';
import { startNodeProcess } from '../test/helpers/child-nodes.js';

const OUT = fileURLToPath(new URL('../docs/demo.png', import.meta.url));
const VIEWPORT = { width: 1100, height: 620 };

const missing = chromiumMissing();
if (missing !== undefined) throw new Error(missing);
const dataDir = mkdtempSync(join(tmpdir(), 'quickim-demo-screenshot-'));
const server = await startNodeProcess(['--demo', '--data-dir', dataDir]);
// launchChromium gives the browser a fresh temporary profile (--user-data-dir), removed on close.
const browser = await launchChromium();
try {
  const [alice, bob] = await Promise.all([
    DemoPage.open(browser, server.url, VIEWPORT),
    DemoPage.open(browser, server.url, VIEWPORT),
  ]);
  await Promise.all([alice.signIn('alice', 1), bob.signIn('bob', 1)]);

  // carol is a member who never signs in: her dot in the member list stays grey.
  const release = await alice.createConversation(['bob', 'carol']);
  await alice.send('Hi Bob! The release notes are ready for review.');
  await bob.openConversation(release);
  await bob.send('Great, reading them now.');
  await bob.send('The migration section could use an example.');
  await alice.send('Good point, adding one.');
  await alice.send('Ping me if anything is unclear.');
  // bob has the conversation open, so his page marks it read: "Seen by bob" on alice's page.
  await alice.see(alice.seenUnder('Ping me if anything is unclear.'), '"Seen by bob"');

  // A second conversation that alice does not open: its entry carries an unread badge.
  const lunch = await bob.createConversation(['alice']);
  await bob.send('Lunch at noon?');
  await bob.send('The usual place.');
  await alice.see(alice.unread(lunch).filter({ hasText: /^2$/ }), "alice's badge reads 2");

  await alice.see(alice.member('bob', true), "bob's online dot");
  await alice.see(alice.member('carol', false), "carol's offline dot");
  await alice.seeText('conversation-id', release);
  const problems = [...alice.problems, ...bob.problems];
  if (problems.length > 0) throw new Error(`the pages reported problems: ${problems.join('; ')}`);

  await alice.page.screenshot({ path: OUT });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
  await server.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
