/**
 * The diagram webview's page, as the extension builds it (vscode-extension/src/webview/page.ts with
 * the bundled webview script), rendered in headless Chromium with a stand-in for VS Code's
 * `acquireVsCodeApi`: the extension's `update` message draws the example policy's nodes and
 * edges, and a click on a node posts `reveal`. Takes a screenshot into test/.tmp; with
 * SWITCHYARD_UPDATE_SCREENSHOTS=1 it refreshes docs/images/diagram.png instead (a test run leaves the
 * tree clean).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { URI } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebview, extensionDir, root } from '../../scripts/build-extension.js';
import { buildPolicyGraph, nodeSvgId, renderSvg } from '../../dsl/graph/index.js';
import type { Document } from '../../dsl/generated/ast.js';
import { createSwitchyardLspServices } from '../../dsl/lsp/module.js';
import type { UpdateMessage } from '../../vscode-extension/src/webview/messages.js';
import { diagramPageHtml } from '../../vscode-extension/src/webview/page.js';

const tmp = path.join(root, 'test', '.tmp', 'webview');

/** What the page's `window` offers the test (the root tsconfig has no DOM types). */
interface PageWindow {
  __posted: { type: string; id?: string; svgId?: string }[];
  acquireVsCodeApi: () => unknown;
  postMessage(message: unknown, target: string): void;
}
const screenshot =
  process.env.SWITCHYARD_UPDATE_SCREENSHOTS === '1'
    ? path.join(root, 'docs', 'images', 'diagram.png')
    : path.join(tmp, 'diagram.png');

/** The flags the Debian chromium needs here (no sandbox as root, no GPU, no network chatter). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let context: BrowserContext;
let page: Page;
let update: UpdateMessage;

async function exampleDiagram(): Promise<UpdateMessage> {
  const { shared } = createSwitchyardLspServices(NodeFileSystem);
  const documents = ['catalog.policy', 'support.policy'].map((name) => {
    const file = path.join(root, 'examples', name);
    const document = shared.workspace.LangiumDocumentFactory.fromString(
      fs.readFileSync(file, 'utf8'),
      URI.file(file),
    );
    shared.workspace.LangiumDocuments.addDocument(document);
    return document;
  });
  await shared.workspace.DocumentBuilder.build(documents, { validation: false });
  const support = documents[1]!;
  const graph = buildPolicyGraph(support.parseResult.value as Document);
  return {
    type: 'update',
    title: 'examples/support.policy',
    uri: support.uri.toString(),
    svg: await renderSvg(graph),
    edges: graph.edges.length,
    nodes: graph.nodes.map((node, index) => ({
      svgId: nodeSvgId(index),
      id: node.id,
      kind: node.kind,
      title: node.title,
      ...(node.location ? { uri: node.location.uri, range: node.location.range } : {}),
    })),
  };
}

beforeAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  // The page's script, bundled as the extension bundles it (into this test's own folder).
  await buildWebview(path.join(tmp, 'webview.js'));
  update = await exampleDiagram();
  const html = diagramPageHtml({
    cspSource: 'file:',
    nonce: 'test-nonce-0123456789',
    scriptUri: URI.file(path.join(tmp, 'webview.js')).toString(),
    styleUri: URI.file(path.join(extensionDir, 'media', 'diagram.css')).toString(),
  });
  fs.writeFileSync(path.join(tmp, 'diagram.html'), html);
  context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(tmp, 'profile-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1500, height: 820 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  // VS Code's webview API, as far as the page uses it: every posted message is recorded.
  await page.addInitScript(() => {
    const posted: unknown[] = [];
    let state: unknown;
    const page = globalThis as unknown as { __posted: unknown[]; acquireVsCodeApi: () => unknown };
    page.__posted = posted;
    page.acquireVsCodeApi = () => ({
      postMessage: (message: unknown) => posted.push(message),
      getState: () => state,
      setState: (value: unknown) => {
        state = value;
      },
    });
  });
  await page.goto(URI.file(path.join(tmp, 'diagram.html')).toString());
}, 120_000);

afterAll(async () => {
  await context?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const posted = (): Promise<PageWindow['__posted']> =>
  page.evaluate(() => (globalThis as unknown as PageWindow).__posted);

describe('the diagram webview', () => {
  it('tells the extension it is ready', async () => {
    await expect.poll(posted).toContainEqual({ type: 'ready' });
  });

  it('draws the nodes and edges of the example policy', async () => {
    await page.evaluate((message) => (globalThis as unknown as PageWindow).postMessage(message, '*'), update);
    await page.waitForSelector('#diagram svg g.node');
    expect(await page.locator('#diagram g.node').count()).toBe(update.nodes.length);
    expect(await page.locator('#diagram g.edge').count()).toBe(update.edges);
    expect(await page.locator('#status').textContent()).toBe(
      `${update.nodes.length} nodes, ${update.edges} edges`,
    );

    const titles = await page.locator('#diagram g.node text').allTextContents();
    for (const title of [
      'policy support',
      'route triage',
      'route interactive',
      'route reasoning',
      'route batch',
      'model llama-8b',
      'model gpt-4o',
      'provider gpu-east',
      'provider openai',
      'budget team-monthly',
      'guard pii',
      'require private',
    ]) {
      expect(titles).toContain(title);
    }
    const edgeLabels = await page.locator('#diagram g.edge text').allTextContents();
    expect(edgeLabels).toEqual(
      expect.arrayContaining([
        'fallback 1 (on failure)',
        'escalate when output.invalid',
        'split 80%',
        'split 20%',
        'downgrade',
      ]),
    );
    // Private and external are told apart.
    const llama = update.nodes.find((n) => n.id === 'model:llama-8b')!;
    const gpt = update.nodes.find((n) => n.id === 'model:gpt-4o')!;
    expect(await page.locator(`#${llama.svgId}`).getAttribute('class')).toContain('sy-private');
    expect(await page.locator(`#${gpt.svgId}`).getAttribute('class')).toContain('sy-external');
  });

  it('posts reveal when a node is clicked', async () => {
    const route = update.nodes.find((n) => n.id === 'route:support/interactive')!;
    await page.locator(`#${route.svgId}`).click();
    await expect
      .poll(posted)
      .toContainEqual({ type: 'reveal', id: 'route:support/interactive', svgId: route.svgId });
    const model = update.nodes.find((n) => n.id === 'model:gpt-4o')!;
    await page.locator(`#${model.svgId}`).click();
    await expect.poll(posted).toContainEqual({ type: 'reveal', id: 'model:gpt-4o', svgId: model.svgId });
    // The extension reveals the declaration in the catalog, where the model is declared.
    expect(model.uri).toMatch(/examples\/catalog\.policy$/);
  });

  it('keeps the last diagram and shows the error when the file stops parsing', async () => {
    await page.evaluate(
      (message) =>
        (globalThis as unknown as PageWindow).postMessage(
          { ...message, svg: '', nodes: [], edges: 0, error: 'the file has syntax errors' },
          '*',
        ),
      update,
    );
    await expect.poll(() => page.locator('#error').isVisible()).toBe(true);
    expect(await page.locator('#diagram g.node').count()).toBe(update.nodes.length);
    await page.evaluate((message) => (globalThis as unknown as PageWindow).postMessage(message, '*'), update);
    await expect.poll(() => page.locator('#error').isVisible()).toBe(false);
  });

  it('takes a screenshot of the diagram (for the docs)', async () => {
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(fs.statSync(screenshot).size).toBeGreaterThan(20_000);
  });
});
