// Writes docs/demo.png: two sessions chatting in the demo, side by side (1000x700).
// Run with `npx tsx test/browser/screenshot.ts` after `npm run build`.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from '../helpers/server.js';
import { DemoPage, chromiumMissing, launchChromium } from './demo-page.js';

const out = fileURLToPath(new URL('../../docs/demo.png', import.meta.url));
const pane = { width: 500, height: 700 };

const missing = chromiumMissing();
if (missing !== undefined) throw new Error(missing);
const server = await startServer({ demo: true });
const browser = await launchChromium();
try {
  const [alice, bob] = await Promise.all([
    DemoPage.open(browser, server.url, pane),
    DemoPage.open(browser, server.url, pane),
  ]);
  await Promise.all([alice.signIn('alice', 1), bob.signIn('bob', 1)]);
  const id = await alice.createConversation(['bob']);
  await alice.send('Hi Bob! The release notes are ready for review.');
  await bob.openConversation(id);
  await bob.send('Great, reading them now.');
  await alice.send('Ping me if anything is unclear.');
  await bob.send('Will do. Pushed to both of us instantly, nice.');
  await alice.see(
    alice.message('Will do. Pushed to both of us instantly, nice.'),
    'the last reply',
  );

  const shots = await Promise.all([alice.page.screenshot(), bob.page.screenshot()]);
  const sheet = await browser.newPage({ viewport: { width: pane.width * 2, height: pane.height } });
  const images = shots
    .map((png) => `<img src="data:image/png;base64,${png.toString('base64')}">`)
    .join('');
  await sheet.setContent(
    `<style>body{margin:0;display:flex}img{width:${pane.width}px}` +
      `img+img{box-shadow:-1px 0 0 #9aa3ad}</style>${images}`,
  );
  mkdirSync(fileURLToPath(new URL('../../docs/', import.meta.url)), { recursive: true });
  await sheet.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close(true);
}
