/**
 * "Switchyard: Show Policy Diagram": a webview beside the editor that follows the policy file being
 * edited, asks the language server for the diagram as the text changes (debounced), and reveals a
 * node's definition when it is clicked.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node.js';
import { DiagramRequest, type DiagramResult } from '../../language-server/protocol.js';
import type { UpdateMessage, WebviewMessage } from './webview/messages.js';
import { diagramPageHtml } from './webview/page.js';

const LANGUAGE = 'switchyard-policy';
const DEBOUNCE_MS = 250;

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let text = '';
  for (let i = 0; i < 32; i++) text += chars.charAt(Math.floor(Math.random() * chars.length));
  return text;
}

export class DiagramPanel implements vscode.Disposable {
  private static current: DiagramPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private document: vscode.TextDocument;
  private last: DiagramResult | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ready = false;

  static show(context: vscode.ExtensionContext, client: LanguageClient, document: vscode.TextDocument): void {
    if (DiagramPanel.current) {
      DiagramPanel.current.follow(document);
      DiagramPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      'switchyard.diagram',
      'Policy diagram',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [
          vscode.Uri.joinPath(context.extensionUri, 'dist'),
          vscode.Uri.joinPath(context.extensionUri, 'media'),
        ],
      },
    );
    DiagramPanel.current = new DiagramPanel(context, client, panel, document);
  }

  private constructor(
    context: vscode.ExtensionContext,
    private readonly client: LanguageClient,
    private readonly panel: vscode.WebviewPanel,
    document: vscode.TextDocument,
  ) {
    this.document = document;
    const webview = panel.webview;
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'images', 'policy-file.svg');
    webview.html = diagramPageHtml({
      cspSource: webview.cspSource,
      nonce: nonce(),
      scriptUri: webview
        .asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview.js'))
        .toString(),
      styleUri: webview
        .asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'media', 'diagram.css'))
        .toString(),
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      webview.onDidReceiveMessage((message: WebviewMessage) => this.onMessage(message)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document.uri.toString() === this.document.uri.toString()) this.schedule();
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (
          editor?.document.languageId === LANGUAGE &&
          editor.document.uri.toString() !== this.document.uri.toString()
        ) {
          this.follow(editor.document);
        }
      }),
    );
  }

  private follow(document: vscode.TextDocument): void {
    this.document = document;
    this.schedule(0);
  }

  private schedule(delay = DEBOUNCE_MS): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  private async refresh(): Promise<void> {
    if (!this.ready) return;
    const uri = this.document.uri.toString();
    let result: DiagramResult;
    try {
      result = await this.client.sendRequest<DiagramResult>(DiagramRequest, { uri });
    } catch (error) {
      result = {
        uri,
        svg: '',
        nodes: [],
        edges: 0,
        error: `the diagram could not be drawn: ${(error as Error).message}`,
      };
    }
    if (uri !== this.document.uri.toString()) return; // the panel moved on to another file
    if (!result.error) this.last = result;
    const name = vscode.workspace.asRelativePath(this.document.uri);
    this.panel.title = `Diagram: ${name.split('/').pop()}`;
    const message: UpdateMessage = { type: 'update', title: name, ...result };
    await this.panel.webview.postMessage(message);
  }

  private async onMessage(message: WebviewMessage): Promise<void> {
    if (message.type === 'ready') {
      this.ready = true;
      await this.refresh();
      return;
    }
    if (message.type === 'reveal') {
      const node = this.last?.nodes.find((n) => n.svgId === message.svgId || n.id === message.id);
      if (!node?.uri || !node.range) return;
      const target = vscode.Uri.parse(node.uri);
      const range = new vscode.Range(
        node.range.start.line,
        node.range.start.character,
        node.range.end.line,
        node.range.end.character,
      );
      const editor = vscode.window.visibleTextEditors.find(
        (e) => e.document.uri.toString() === target.toString(),
      );
      await vscode.window.showTextDocument(target, {
        viewColumn: editor?.viewColumn ?? vscode.ViewColumn.One,
        selection: range,
        preserveFocus: false,
      });
    }
  }

  dispose(): void {
    DiagramPanel.current = undefined;
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
