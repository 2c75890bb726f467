/**
 * The HTML of the diagram webview. Pure (no `vscode` import), so tests can load the very page the
 * extension shows into a browser.
 */

export interface DiagramPageOptions {
  /** `webview.cspSource` in VS Code. */
  cspSource: string;
  /** A fresh random string per page: only scripts carrying it run. */
  nonce: string;
  /** URI of dist/webview.js, as the webview may load it. */
  scriptUri: string;
  /** URI of media/diagram.css. */
  styleUri: string;
  title?: string;
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function diagramPageHtml(options: DiagramPageOptions): string {
  const csp = [
    "default-src 'none'",
    `img-src ${options.cspSource} data:`,
    `style-src ${options.cspSource} 'unsafe-inline'`,
    `script-src 'nonce-${options.nonce}'`,
    `font-src ${options.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${attr(options.styleUri)}">
  <title>${attr(options.title ?? 'Policy diagram')}</title>
</head>
<body>
  <header id="toolbar">
    <span id="title">Policy diagram</span>
    <span id="status">waiting for the language server…</span>
    <span class="spacer"></span>
    <button id="zoom-out" title="Zoom out">−</button>
    <button id="zoom-fit" title="Fit to the window">Fit</button>
    <button id="zoom-in" title="Zoom in">+</button>
  </header>
  <div id="error" hidden></div>
  <main id="diagram" aria-label="policy diagram"></main>
  <footer id="legend">
    <span class="key route">route</span>
    <span class="key private">private model / provider</span>
    <span class="key external">external model / provider</span>
    <span class="key edge-use">use, split</span>
    <span class="key edge-fallback">fallback</span>
    <span class="key edge-escalate">escalate</span>
    <span class="hint">Click a box to go to its definition.</span>
  </footer>
  <script nonce="${attr(options.nonce)}" src="${attr(options.scriptUri)}"></script>
</body>
</html>
`;
}
