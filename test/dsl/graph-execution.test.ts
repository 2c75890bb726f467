/**
 * The diagram shows each route's execution mode (docs/language.md §4.9): a detail
 * line on every route, and a direct route drawn dashed, in the SVG, DOT and Mermaid forms.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Document } from '../../dsl/generated/ast.js';
import { buildPolicyGraph, renderSvg, toDot, toMermaid } from '../../dsl/graph/index.js';
import { loadWorkspace } from '../../dsl/workspace.js';
import { GOOD } from './helpers.js';

const SOURCE = `provider pool { kind ollama endpoints "http://localhost:11434" private }
model small { provider pool context 8k capabilities chat }

policy p {
  execution direct
  route chat when capability == "chat" { use small }
  route nightly when mode == batch { use small execution durable }
}
`;

async function graphOf(text: string) {
  const file = path.join(GOOD, 'graph-execution.policy');
  const ws = await loadWorkspace([file], { texts: new Map([[file, text]]), validate: false });
  return buildPolicyGraph(ws.roots[0]!.parseResult.value as Document);
}

describe('the diagram of execution modes', () => {
  it('gives each route its effective mode, inherited from the policy or its own', async () => {
    const graph = await graphOf(SOURCE);
    const routes = graph.nodes.filter((n) => n.kind === 'route');
    expect(routes.map((n) => [n.title, n.execution, n.details.at(-1)])).toEqual([
      ['route chat', 'direct', 'execution direct'],
      ['route nightly', 'durable', 'execution durable'],
    ]);
  });

  it('draws a direct route dashed in DOT and SVG, and says its mode in the label', async () => {
    const graph = await graphOf(SOURCE);
    const dot = toDot(graph);
    const chat = dot.split('\n').find((l) => l.includes('route chat'))!;
    const nightly = dot.split('\n').find((l) => l.includes('route nightly'))!;
    expect(chat).toContain('class="sy-node sy-route sy-direct"');
    expect(chat).toContain('style="rounded,filled,dashed"');
    expect(chat).toContain('execution direct');
    expect(nightly).toContain('class="sy-node sy-route sy-durable"');
    expect(nightly).toContain('style="rounded,filled"');
    // Graphviz writes `-` in attributes as `&#45;`.
    const svg = (await renderSvg(graph)).replace(/&#45;/g, '-');
    // Graphviz writes each node after a `<!-- nN -->` comment: its class, border path, text lines.
    const group = (route: string): string =>
      svg.split('<!-- ').find((g) => g.includes('sy-route') && g.includes(`>${route}<`)) ?? '';
    expect(group('route chat')).toContain('sy-direct');
    expect(group('route chat')).toMatch(/stroke-dasharray/);
    expect(group('route chat')).toContain('execution direct');
    expect(group('route nightly')).toContain('sy-durable');
    expect(group('route nightly')).not.toMatch(/stroke-dasharray/);
  });

  it('says the mode and styles direct routes in Mermaid', async () => {
    const mermaid = toMermaid(await graphOf(SOURCE));
    expect(mermaid).toMatch(/route chat<\/b><br\/>when capability == #quot;chat#quot;<br\/>execution direct/);
    expect(mermaid).toMatch(/classDef direct .*stroke-dasharray/);
    const direct = /class (\S+) direct/.exec(mermaid)?.[1];
    const routes = /class (\S+) route/.exec(mermaid)?.[1];
    expect(direct?.split(',')).toHaveLength(1);
    expect(routes?.split(',')).toHaveLength(1);
  });
});
