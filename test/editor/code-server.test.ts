/**
 * The extension in a real VS Code: code-server 4.100.3 (VS Code 1.100.3, installed into
 * .code-server/ by scripts/install-code-server.sh, which .ci/run calls) with the packaged .vsix
 * installed by `code-server --install-extension`, driven in Debian's Chromium by playwright-core.
 * A user's session on the examples: open support.policy, see a diagnostic appear after an edit,
 * hover a route and read its cost, run a test from its code lens and read the result in the lens,
 * open the diagram and see it follow an edit. Screenshots go to test/.tmp; with
 * SWITCHYARD_UPDATE_SCREENSHOTS=1 to docs/images/ (docs/editor.md shows them).
 *
 * Nothing is downloaded: without .code-server/ the test is skipped and says how to install it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { type BrowserContext, chromium, type Frame, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension, packageExtension, root } from '../../scripts/build-extension.js';

const entry = path.join(root, '.code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const installed = fs.existsSync(entry);
const tmp = path.join(root, 'test', '.tmp', 'code-server');
const workspace = path.join(tmp, 'workspace');
const images =
  process.env.SWITCHYARD_UPDATE_SCREENSHOTS === '1'
    ? path.join(root, 'docs', 'images')
    : path.join(tmp, 'images');

/** Debian's chromium here: diagram-webview.test.ts's flags (importing them would run its tests). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let server: ChildProcess | undefined;
let serverLog = '';
let context: BrowserContext | undefined;
let page: Page;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`code-server did not answer ${url}:\n${serverLog}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** code-server with an isolated home: its config, user data and extensions under tmp. */
function codeServerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: path.join(tmp, 'home'),
    XDG_CONFIG_HOME: path.join(tmp, 'home', '.config'),
    XDG_DATA_HOME: path.join(tmp, 'home', '.local', 'share'),
  };
}

const dirs = () => [
  '--user-data-dir',
  path.join(tmp, 'user-data'),
  '--extensions-dir',
  path.join(tmp, 'extensions'),
];

async function shot(name: string): Promise<void> {
  fs.mkdirSync(images, { recursive: true });
  await page.screenshot({ path: path.join(images, name) });
}

/** The editor's line whose text contains `text` (scrolled into view first with Go to Line). */
async function goToLine(line: number): Promise<void> {
  await page.keyboard.press('Control+G');
  await page.keyboard.insertText(String(line));
  await page.keyboard.press('Enter');
}

function editorLine(text: string): Locator {
  return page.locator('.monaco-editor .view-lines .view-line', { hasText: text }).first();
}

/** The token `word` of the editor line containing `lineText`. */
function token(lineText: string, word: string): Locator {
  return editorLine(lineText)
    .locator('span > span', { hasText: new RegExp(`^${word}$`) })
    .first();
}

/**
 * Clicks what `target` finds until `shown` appears (3 tries, 10 s each). VS Code asks for the
 * lenses again after a scroll or an edit; a click on a lens of the list just replaced fails with
 * "Actual command not found": it waits 2 s for the lenses to settle, and tries again if need be.
 */
async function clickUntil(target: () => Promise<Locator>, shown: Locator): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.waitForTimeout(2000);
    await (await target()).click();
    try {
      await shown.waitFor({ timeout: 10_000 });
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

async function diagramFrame(text: string, timeoutMs = 60_000): Promise<Frame> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      const found = await frame
        .evaluate((t) => {
          const svg = (
            globalThis as unknown as {
              document: { querySelector(s: string): { textContent: string } | null };
            }
          ).document.querySelector('svg');
          return svg !== null && svg.textContent.includes(t);
        }, text)
        .catch(() => false);
      if (found) return frame;
    }
    if (Date.now() > until) throw new Error(`no diagram showing "${text}"`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  if (!installed) return;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(workspace, 'schemas'), { recursive: true });
  for (const file of ['catalog.policy', 'support.policy', 'schemas/ticket.json'])
    fs.copyFileSync(path.join(root, 'examples', file), path.join(workspace, file));
  fs.mkdirSync(path.join(tmp, 'user-data', 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(tmp, 'user-data', 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'extensions.ignoreRecommendations': true,
      'chat.commandCenter.enabled': false,
      'editor.hover.delay': 100,
      'git.enabled': false,
      'git.openRepositoryInParentFolders': 'never',
      'editor.minimap.enabled': false,
      'window.commandCenter': false,
      'workbench.colorTheme': 'Default Light Modern',
    }),
  );
  // The .vsix as `npm run package` makes it.
  await buildExtension();
  const vsix = packageExtension();
  execFileSync(process.execPath, [entry, ...dirs(), '--install-extension', vsix], {
    env: codeServerEnv(),
    stdio: 'pipe',
  });
  const port = await freePort();
  server = spawn(
    process.execPath,
    [
      entry,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...dirs(),
      workspace,
    ],
    { env: codeServerEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
  server.stderr?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000);
  context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(tmp, 'profile-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 860 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
}, 300_000);

afterAll(async () => {
  await context?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill();
    await exited;
  }
});

describe.skipIf(!installed)('the extension in code-server (VS Code 1.100)', () => {
  it('opens an example: the language server starts and the tests get their lenses', async () => {
    await page.keyboard.press('Control+P');
    await page.keyboard.insertText('support.policy');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'support.policy' }).first().waitFor();
    await page.keyboard.press('Enter');
    await editorLine('policy support').waitFor({ timeout: 60_000 });
    await page
      .locator('.codelens-decoration', { hasText: "Run the file's tests" })
      .waitFor({ timeout: 90_000 });
  }, 180_000);

  it('shows a diagnostic after an edit', async () => {
    await goToLine(35);
    await page.keyboard.press('End');
    await page.keyboard.insertText(' retries many');
    const squiggle = page.locator('.monaco-editor .squiggly-error').first();
    await squiggle.waitFor({ timeout: 30_000 });
    // The squiggle is a decoration under the text: point at it.
    const box = (await squiggle.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const hover = page.locator('.monaco-hover:visible').first();
    await hover.waitFor();
    expect(await hover.innerText()).toMatch(/expected a whole number, found many/);
    await shot('editor-diagnostic.png');
    await page.keyboard.press('Escape');
    await page.keyboard.press('End');
    for (let i = 0; i < ' retries many'.length; i++) await page.keyboard.press('Backspace');
    await expect
      .poll(() => page.locator('.monaco-editor .squiggly-error').count(), { timeout: 30_000 })
      .toBe(0);
  }, 60_000);

  it('hovers a route and shows its cost', async () => {
    await goToLine(39);
    await token('route interactive when', 'interactive').hover();
    const hover = page.locator('.monaco-hover:visible', { hasText: 'Worst-case cost per request' }).first();
    await hover.waitFor({ timeout: 30_000 });
    const text = await hover.innerText();
    expect(text).toContain('route interactive');
    expect(text).toMatch(/Worst-case cost per request: \$[0-9.]+/);
    await shot('editor-hover.png');
    await page.keyboard.press('Escape');
  }, 60_000);

  it('runs a test from its code lens and shows the result in the lens', async () => {
    await goToLine(64);
    const result = page.locator('.codelens-decoration', {
      hasText: '✓ passed: route interactive → llama-8b',
    });
    await clickUntil(async () => {
      // The lens drawn just above the test's line.
      const line = (await editorLine('test "chat stays on the local pool"').boundingBox())!;
      const runs = page.locator('.codelens-decoration a', { hasText: /^▶ Run$/ });
      await runs.first().waitFor({ timeout: 30_000 });
      let run: Locator | undefined;
      let best = -Infinity;
      for (const candidate of await runs.all()) {
        const box = await candidate.boundingBox();
        if (box && box.y < line.y && box.y > best) [run, best] = [candidate, box.y];
      }
      return run!;
    }, result.first());
    await shot('editor-codelens.png');
  }, 90_000);

  it('opens the diagram, which follows an edit', async () => {
    await page.keyboard.press('F1');
    await page.keyboard.insertText('Switchyard: Show Policy Diagram');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'Show Policy Diagram' })
      .first()
      .waitFor();
    await page.keyboard.press('Enter');
    await diagramFrame('interactive');
    // Back in the editor: a new route, typed in, appears in the diagram.
    await page.locator('.monaco-editor .view-lines').first().click();
    await goToLine(39);
    await page.keyboard.press('Home');
    await page.keyboard.insertText('route embeddings when capability == "embed" { use gpt-4o }\n  ');
    await diagramFrame('embeddings');
    await shot('editor-diagram.png');
  }, 120_000);

  it("runs the file's tests from the policy's lens: the coverage of the new, untested route", async () => {
    await goToLine(1);
    const coverage = page.locator('.codelens-decoration', {
      hasText: 'coverage 35 of 38 (92.1%), 3 not covered (dimmed)',
    });
    await clickUntil(
      async () => page.locator('.codelens-decoration a', { hasText: "▶ Run the file's tests" }).first(),
      coverage.first(),
    );
    await shot('editor-coverage.png');
  }, 120_000);
});

if (!installed) {
  describe('the extension in code-server', () => {
    it.skip('needs .code-server/: run scripts/install-code-server.sh (.ci/run does)', () => {});
  });
}
