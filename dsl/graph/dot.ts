/**
 * The policy graph in Graphviz's DOT language: one box per policy, providers grouped as private
 * (our infrastructure) or external, each node and edge carrying an `id` and CSS classes so the
 * SVG Graphviz lays out can be styled and clicked (the VS Code webview maps a click back to the
 * node's source location).
 */
import type { GraphEdge, GraphEdgeKind, GraphNode, GraphNodeKind, PolicyGraph } from './graph.js';

/** The SVG element id of the i-th node, and of the i-th edge. */
export const nodeSvgId = (index: number): string => `sy-n${index}`;
export const edgeSvgId = (index: number): string => `sy-e${index}`;

interface NodeStyle {
  shape: string;
  fill: string;
  stroke: string;
}

const NODE_STYLES: Record<GraphNodeKind, NodeStyle> = {
  policy: { shape: 'box', fill: '#37474f', stroke: '#263238' },
  route: { shape: 'box', fill: '#e3f2fd', stroke: '#1565c0' },
  otherwise: { shape: 'box', fill: '#ffebee', stroke: '#c62828' },
  model: { shape: 'box', fill: '#ffffff', stroke: '#546e7a' },
  provider: { shape: 'box3d', fill: '#ffffff', stroke: '#546e7a' },
  budget: { shape: 'note', fill: '#fffde7', stroke: '#f9a825' },
  'rate-limit': { shape: 'note', fill: '#fffde7', stroke: '#f9a825' },
  guard: { shape: 'hexagon', fill: '#f3e5f5', stroke: '#6a1b9a' },
  require: { shape: 'note', fill: '#fce4ec', stroke: '#ad1457' },
};

const PRIVATE = { fill: '#e8f5e9', stroke: '#2e7d32' };
const EXTERNAL = { fill: '#fff3e0', stroke: '#e65100' };

const EDGE_STYLES: Record<GraphEdgeKind, string> = {
  route: 'color="#78909c", fontcolor="#455a64"',
  otherwise: 'color="#c62828", fontcolor="#c62828", style=dashed',
  use: 'color="#1565c0", fontcolor="#1565c0", penwidth=2',
  split: 'color="#1565c0", fontcolor="#1565c0", penwidth=2',
  fallback: 'color="#ef6c00", fontcolor="#ef6c00", style=dashed, penwidth=1.5',
  escalate: 'color="#6a1b9a", fontcolor="#6a1b9a", style=dashed, penwidth=1.5',
  provider: 'color="#90a4ae", arrowsize=0.7',
  budget: 'color="#f9a825", fontcolor="#8d6e00", style=dotted, arrowhead=none',
  downgrade: 'color="#f9a825", fontcolor="#8d6e00", style=dashed',
  guard: 'color="#6a1b9a", fontcolor="#6a1b9a", style=dotted',
  require: 'color="#ad1457", fontcolor="#ad1457", style=dotted, arrowhead=none',
};

/** Escapes text for a quoted DOT string. */
export function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Escapes text for a Graphviz HTML-like label. */
function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function nodeStatement(node: GraphNode, index: number): string {
  const style = NODE_STYLES[node.kind];
  const colours = node.private === true ? PRIVATE : node.private === false ? EXTERNAL : style;
  const dark = node.kind === 'policy';
  const title = `<b>${html(node.title)}</b>`;
  const details = node.details.map((d) => `<font point-size="10">${html(d)}</font>`);
  const label = `<${[title, ...details].join('<br/>')}>`;
  const privacy = node.private === true ? ' sy-private' : node.private === false ? ' sy-external' : '';
  const execution = node.execution ? ` sy-${node.execution}` : '';
  // A direct route (run by the front door, without a workflow) has a dashed border.
  const border = node.execution === 'direct' ? 'rounded,filled,dashed' : 'rounded,filled';
  return `    n${index} [id=${dotString(nodeSvgId(index))}, class=${dotString(`sy-node sy-${node.kind}${privacy}${execution}`)}, shape=${style.shape}, style="${border}", fillcolor=${dotString(colours.fill)}, color=${dotString(colours.stroke)}, fontcolor=${dotString(dark ? '#ffffff' : '#212121')}, tooltip=${dotString(node.id)}, label=${label}];`;
}

function edgeStatement(edge: GraphEdge, index: number, ids: Map<string, number>): string | undefined {
  const from = ids.get(edge.from);
  const to = ids.get(edge.to);
  if (from === undefined || to === undefined) return undefined;
  const label = edge.label ? `, label=${dotString(edge.label)}` : '';
  return `  n${from} -> n${to} [id=${dotString(edgeSvgId(index))}, class=${dotString(`sy-edge sy-edge-${edge.kind}`)}${label}, ${EDGE_STYLES[edge.kind]}];`;
}

/** The graph as DOT, laid out left to right. */
export function toDot(graph: PolicyGraph, name = 'switchyard'): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.id, i]));
  const lines = [
    `digraph ${dotString(name)} {`,
    '  graph [rankdir=LR, fontname="Helvetica,Arial,sans-serif", fontsize=12, nodesep=0.35, ranksep=0.9, bgcolor="transparent", newrank=true];',
    '  node [fontname="Helvetica,Arial,sans-serif", fontsize=12, margin="0.3,0.1"];',
    '  edge [fontname="Helvetica,Arial,sans-serif", fontsize=10];',
  ];
  graph.policies.forEach((policy, p) => {
    lines.push(`  subgraph cluster_policy_${p} {`);
    lines.push(
      `    label=${dotString(`policy ${policy}`)}; style="rounded,dashed"; color="#90a4ae"; fontcolor="#455a64";`,
    );
    graph.nodes.forEach((node, i) => {
      if (node.policy === policy) lines.push(nodeStatement(node, i));
    });
    lines.push('  }');
  });
  const groups: [string, (n: GraphNode) => boolean, string][] = [
    ['private — our infrastructure', (n) => n.kind === 'provider' && n.private === true, PRIVATE.stroke],
    ['external', (n) => n.kind === 'provider' && n.private === false, EXTERNAL.stroke],
  ];
  groups.forEach(([label, member, colour], g) => {
    const members = graph.nodes.map((n, i) => [n, i] as const).filter(([n]) => member(n));
    if (members.length === 0) return;
    lines.push(`  subgraph cluster_providers_${g} {`);
    lines.push(
      `    label=${dotString(label)}; style="rounded"; color=${dotString(colour)}; fontcolor=${dotString(colour)};`,
    );
    for (const [node, i] of members) lines.push(nodeStatement(node, i));
    lines.push('  }');
  });
  graph.nodes.forEach((node, i) => {
    if (node.policy === undefined && !(node.kind === 'provider' && node.private !== undefined))
      lines.push(nodeStatement(node, i).slice(2));
  });
  graph.edges.forEach((edge, i) => {
    const statement = edgeStatement(edge, i, ids);
    if (statement) lines.push(statement);
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
