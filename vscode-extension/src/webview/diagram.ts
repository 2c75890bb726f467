/**
 * The diagram webview's script (bundled for the browser): shows the SVG the language server laid
 * out, keeps the zoom across updates, and posts `reveal` when a node is clicked.
 */
import type { UpdateMessage, WebviewMessage } from './messages.js';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const container = document.getElementById('diagram')!;
const status = document.getElementById('status')!;
const title = document.getElementById('title')!;
const errorBox = document.getElementById('error')!;

interface State {
  zoom: number | 'fit';
}

let state: State = (vscode.getState() as State | undefined) ?? { zoom: 'fit' };
let nodes = new Map<string, UpdateMessage['nodes'][number]>();

function applyZoom(): void {
  const svg = container.querySelector('svg');
  if (!svg) return;
  if (state.zoom === 'fit') {
    svg.style.width = '100%';
    svg.style.height = 'auto';
    svg.style.maxHeight = 'calc(100vh - 80px)';
  } else {
    const width = Number.parseFloat(svg.getAttribute('width') ?? '0');
    svg.style.width = `${width * state.zoom}pt`;
    svg.style.height = 'auto';
    svg.style.maxHeight = 'none';
  }
  vscode.setState(state);
}

function zoom(factor: number | 'fit'): void {
  if (factor === 'fit') state = { zoom: 'fit' };
  else state = { zoom: Math.min(4, Math.max(0.25, (state.zoom === 'fit' ? 1 : state.zoom) * factor)) };
  applyZoom();
}

function render(message: UpdateMessage): void {
  title.textContent = message.title;
  if (message.error) {
    errorBox.textContent = message.error;
    errorBox.hidden = false;
    if (!message.svg) return;
  } else {
    errorBox.hidden = true;
  }
  // The SVG comes from Graphviz: drop its XML prolog and doctype.
  container.innerHTML = message.svg.replace(/^[\s\S]*?(?=<svg)/, '');
  nodes = new Map(message.nodes.map((n) => [n.svgId, n]));
  for (const element of Array.from(container.querySelectorAll<SVGGElement>('g.node'))) {
    const node = nodes.get(element.id);
    if (!node) continue;
    element.setAttribute('data-node', node.id);
    element.setAttribute('role', 'button');
    element.setAttribute('tabindex', '0');
    if (node.uri) element.classList.add('sy-clickable');
  }
  status.textContent = `${message.nodes.length} nodes, ${message.edges} edges`;
  applyZoom();
}

container.addEventListener('click', (event) => {
  const target = (event.target as Element).closest('g.node');
  if (!target) return;
  const node = nodes.get(target.id);
  if (node) vscode.postMessage({ type: 'reveal', id: node.id, svgId: target.id });
});

container.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' && event.key !== ' ') return;
  const target = (event.target as Element).closest('g.node');
  const node = target ? nodes.get(target.id) : undefined;
  if (node && target) vscode.postMessage({ type: 'reveal', id: node.id, svgId: target.id });
});

window.addEventListener('message', (event: MessageEvent<UpdateMessage>) => {
  if (event.data?.type === 'update') render(event.data);
});

document.getElementById('zoom-in')!.addEventListener('click', () => zoom(1.25));
document.getElementById('zoom-out')!.addEventListener('click', () => zoom(0.8));
document.getElementById('zoom-fit')!.addEventListener('click', () => zoom('fit'));

vscode.postMessage({ type: 'ready' });
