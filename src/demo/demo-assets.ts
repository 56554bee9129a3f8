import { readFileSync, readdirSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

/** One file the demo serves, held in memory. */
export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page imports the SDK's modules from `/demo/sdk/…`. */
export const SDK_PREFIX = 'sdk/';

/** The SDK counts as built once its entry module exists. */
const SDK_ENTRY = 'index.js';

function asset(path: string, body: Buffer): Asset {
  const contentType = contentTypes[extname(path)];
  if (contentType === undefined) throw new Error(`no content type for ${path}`);
  return { body, contentType };
}

/**
 * The demo's files by the name they are served under (`app.js`, `room.js`, `sdk/index.js`).
 * The names are fixed when the files are read, so a requested name is only ever a map key and never
 * reaches the filesystem. The page's files are read at construction; the SDK's built modules
 * (every `.js` file of its dist directory) on first use, and again on later uses for as long
 * as the SDK is not built.
 */
export class DemoAssets {
  /** The page, served as `/demo`. */
  readonly index: Asset;
  /** The page's own files (`.html`, `.js`, `.css` at the top of `publicDir`): its whole whitelist. */
  private readonly page: ReadonlyMap<string, Asset>;
  private sdk: Promise<ReadonlyMap<string, Asset> | undefined> | undefined;

  constructor(
    publicDir: string,
    private readonly sdkDir: string,
  ) {
    const read = (name: string): Asset => asset(name, readFileSync(join(publicDir, name)));
    this.index = read('index.html');
    // The page is split into modules and stylesheets: every such file at the top of publicDir.
    const files = readdirSync(publicDir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && contentTypes[extname(entry.name)] !== undefined)
      .map((entry) => entry.name);
    this.page = new Map(
      files.map((name) => [name, name === 'index.html' ? this.index : read(name)]),
    );
  }

  /** The SDK's modules, or `undefined` while it is not built. */
  sdkModules(): Promise<ReadonlyMap<string, Asset> | undefined> {
    this.sdk ??= this.readSdk().then(
      (modules) => {
        if (modules === undefined) this.sdk = undefined;
        return modules;
      },
      (err: unknown) => {
        this.sdk = undefined;
        throw err;
      },
    );
    return this.sdk;
  }

  /** The file served as `/demo/<name>`, or `undefined` when `name` is not on the whitelist. */
  async get(name: string): Promise<Asset | undefined> {
    const own = this.page.get(name);
    if (own !== undefined) return own;
    if (!name.startsWith(SDK_PREFIX)) return undefined;
    return (await this.sdkModules())?.get(name);
  }

  private async readSdk(): Promise<ReadonlyMap<string, Asset> | undefined> {
    let names: string[];
    try {
      names = await readdir(this.sdkDir, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const modules = names.filter((name) => name.endsWith('.js'));
    if (!modules.includes(SDK_ENTRY)) return undefined;
    const entries = await Promise.all(
      modules.map(async (name): Promise<[string, Asset]> => {
        const url = SDK_PREFIX + name.split(sep).join('/');
        return [url, asset(name, await readFile(join(this.sdkDir, name)))];
      }),
    );
    return new Map(entries);
  }
}
