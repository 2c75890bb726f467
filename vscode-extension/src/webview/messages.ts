/** Messages between the extension and the diagram webview. */
import type { DiagramResult } from '../../../language-server/protocol.js';

/** Extension → webview: a new diagram (or an error, keeping the last one). */
export interface UpdateMessage extends DiagramResult {
  type: 'update';
  title: string;
}

/** Webview → extension. */
export type WebviewMessage =
  | { type: 'ready' }
  /** A node was clicked: reveal its definition. */
  | { type: 'reveal'; id: string; svgId: string };
