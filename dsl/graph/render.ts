/**
 * Lays out the policy graph with Graphviz (compiled to WebAssembly, so no `dot` binary is needed)
 * and returns SVG. Loading the WebAssembly module takes ~0.2 s once per process.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { toDot } from './dot.js';
import type { PolicyGraph } from './graph.js';

let graphviz: Promise<Graphviz> | undefined;

export function loadGraphviz(): Promise<Graphviz> {
  graphviz ??= Graphviz.load();
  return graphviz;
}

/** DOT text → SVG text. */
export async function dotToSvg(dot: string): Promise<string> {
  return (await loadGraphviz()).dot(dot, 'svg');
}

export async function renderSvg(graph: PolicyGraph): Promise<string> {
  return dotToSvg(toDot(graph));
}
