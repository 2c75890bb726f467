/** The policy graph as a Mermaid flowchart (for Markdown: GitHub, docs sites). */
import type { GraphEdgeKind, GraphNode, PolicyGraph } from './graph.js';

function text(value: string): string {
  return value.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function label(node: GraphNode): string {
  return `"${[`<b>${text(node.title)}</b>`, ...node.details.map(text)].join('<br/>')}"`;
}

const ARROWS: Record<GraphEdgeKind, string> = {
  route: '-->',
  otherwise: '-.->',
  use: '==>',
  split: '==>',
  fallback: '-.->',
  escalate: '-.->',
  provider: '-->',
  budget: '-.-',
  downgrade: '-.->',
  guard: '-.->',
  require: '-.-',
};

export function toMermaid(graph: PolicyGraph): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ['flowchart LR'];
  const shape = (node: GraphNode): string => {
    const id = ids.get(node.id)!;
    if (node.kind === 'provider') return `${id}[(${label(node)})]`;
    if (node.kind === 'guard') return `${id}{{${label(node)}}}`;
    if (node.kind === 'policy') return `${id}([${label(node)}])`;
    return `${id}[${label(node)}]`;
  };
  graph.policies.forEach((policy, p) => {
    lines.push(`  subgraph policy_${p}["policy ${text(policy)}"]`);
    for (const node of graph.nodes) if (node.policy === policy) lines.push(`    ${shape(node)}`);
    lines.push('  end');
  });
  for (const node of graph.nodes) if (node.policy === undefined) lines.push(`  ${shape(node)}`);
  for (const edge of graph.edges) {
    const from = ids.get(edge.from);
    const to = ids.get(edge.to);
    if (!from || !to) continue;
    const arrow = ARROWS[edge.kind];
    lines.push(
      edge.label
        ? `  ${from} ${arrow}|"${text(edge.label.replace(/\n/g, ' '))}"| ${to}`
        : `  ${from} ${arrow} ${to}`,
    );
  }
  const classes: [string, (n: GraphNode) => boolean, string][] = [
    ['private', (n) => n.private === true, 'fill:#e8f5e9,stroke:#2e7d32'],
    ['external', (n) => n.private === false, 'fill:#fff3e0,stroke:#e65100'],
    ['route', (n) => n.kind === 'route' && n.execution !== 'direct', 'fill:#e3f2fd,stroke:#1565c0'],
    // docs/language.md §4.9: a direct route is drawn dashed, as in the SVG.
    ['direct', (n) => n.execution === 'direct', 'fill:#e3f2fd,stroke:#1565c0,stroke-dasharray:5 3'],
    ['reject', (n) => n.kind === 'otherwise', 'fill:#ffebee,stroke:#c62828'],
  ];
  for (const [name, member, style] of classes) {
    const members = graph.nodes.filter(member).map((n) => ids.get(n.id)!);
    if (members.length === 0) continue;
    lines.push(`  classDef ${name} ${style}`);
    lines.push(`  class ${members.join(',')} ${name}`);
  }
  return `${lines.join('\n')}\n`;
}
