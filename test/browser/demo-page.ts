import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';

/** The system Chromium; a browser is never downloaded. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Longest wait for anything the page shows; generous for a slow 2-core machine. */
export const WAIT_MS = 20_000;

/** Why browser tests cannot run here, or `undefined` when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `${CHROMIUM_PATH} is missing (apt-get install chromium)`;
}

/**
 * Headless Chromium with no network chatter of its own. Playwright gives every launch a
 * fresh temporary profile (`--user-data-dir`) and removes it on close; it refuses that flag in
 * `args`.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** One browser tab of the demo, in its own context (own storage), and what went wrong in it. */
export class DemoPage {
  readonly problems: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('pageerror', (err) => this.note(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') this.note(`console: ${msg.text()}`);
    });
  }

  /** Keeps each distinct problem once, with tokens in URLs hidden. */
  private note(problem: string): void {
    const redacted = problem.replace(/([?&]token=)[^&\s'"]+/g, '$1[redacted]');
    if (!this.problems.includes(redacted)) this.problems.push(redacted);
  }

  /** Opens `<baseUrl>/demo` in a new context of `browser`. */
  static async open(
    browser: Browser,
    baseUrl: string,
    viewport = { width: 1000, height: 700 },
  ): Promise<DemoPage> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const demo = new DemoPage(context, page);
    await page.goto(`${baseUrl}/demo`, { timeout: WAIT_MS });
    return demo;
  }

  byTestId(id: string): Locator {
    return this.page.locator(`[data-testid="${id}"]`);
  }

  /** The rendered message whose text is exactly `text`. */
  message(text: string): Locator {
    return this.byTestId('message').filter({
      has: this.page.locator('.text', { hasText: exactly(text) }),
    });
  }

  /** The conversation's entry in the list. */
  conversation(id: string): Locator {
    return this.page.locator(`[data-testid="conversation"][data-conversation-id="${id}"]`);
  }

  /** The unread badge of the conversation's entry in the list (hidden when nothing is unread). */
  unread(id: string): Locator {
    return this.conversation(id).locator('[data-testid="unread"]');
  }

  /** The open conversation's member `session` in the member list, optionally only if (not) online. */
  member(session: string, online?: boolean): Locator {
    const state = online === undefined ? '' : `[data-online="${online}"]`;
    return this.page.locator(`[data-testid="member"][data-session="${session}"]${state}`);
  }

  /** The "Seen by …" line under the message whose text is exactly `text`. */
  seenUnder(text: string): Locator {
    return this.message(text).locator('[data-testid="seen"]');
  }

  /** Waits until `locator` is hidden or gone; on timeout the error names `what`. */
  async seeGone(locator: Locator, what: string): Promise<void> {
    try {
      await locator.first().waitFor({ state: 'hidden', timeout: WAIT_MS });
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }

  /** Waits until `locator` is visible; on timeout the error names `what` and the page's problems. */
  async see(locator: Locator, what: string): Promise<void> {
    try {
      await locator.first().waitFor({ state: 'visible', timeout: WAIT_MS });
    } catch (err) {
      const context =
        `error banner: ${JSON.stringify(await this.text('error'))}, ` +
        `state: ${await this.text('state')}, transport: ${await this.text('transport')}, ` +
        `problems: ${JSON.stringify(this.problems)}`;
      throw new Error(`${what}: ${(err as Error).message.split('\n')[0]}; ${context}`, {
        cause: err,
      });
    }
  }

  /** Waits until the element `testId` reads exactly `text`. */
  seeText(testId: string, text: string): Promise<void> {
    return this.see(
      this.byTestId(testId).filter({ hasText: exactly(text) }),
      `${testId} "${text}"`,
    );
  }

  async text(testId: string): Promise<string | null> {
    return this.byTestId(testId)
      .textContent({ timeout: 1000 })
      .catch(() => null);
  }

  /** Signs in as (session, platform) and waits for the push connection. */
  async signIn(session: string, platform: number): Promise<void> {
    await this.byTestId('session').fill(session);
    await this.byTestId('platform').fill(String(platform));
    await this.byTestId('sign-in-button').click();
    await this.seeText('state', 'connected');
  }

  /** Creates a conversation with `others` and returns its id once it is open. */
  async createConversation(others: readonly string[]): Promise<string> {
    await this.byTestId('create-sessions').fill(others.join(', '));
    await this.byTestId('create').click();
    const id = this.byTestId('conversation-id').filter({ hasText: /^[0-9a-f-]{36}$/ });
    await this.see(id, 'the new conversation opens');
    return (await id.textContent()) ?? '';
  }

  async openConversation(id: string): Promise<void> {
    await this.see(this.conversation(id), `conversation ${id} in the list`);
    await this.conversation(id).locator('button').click();
    await this.seeText('conversation-id', id);
  }

  /** Sends `text` in the open conversation and waits until it comes back over push. */
  async send(text: string): Promise<void> {
    await this.byTestId('message-input').fill(text);
    await this.byTestId('send').click();
    await this.see(this.message(text), `own message "${text}" pushed back`);
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}
