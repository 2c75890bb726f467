import * as fs from 'node:fs';
import { buildPolicyGraph, renderSvg, toDot, toMermaid } from '../../dsl/graph/index.js';
import { loadWorkspace } from '../../dsl/workspace.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { fromDiagnostic, formatLocated } from '../output.js';

export const graphUsage = `usage: switchyard graph FILE [--format svg|dot|mermaid] [-o OUT]

Draws the policies of FILE: routes and their conditions, the models they use, fall back and
escalate to (edges labelled with what makes them run), the providers behind the models (private
or external), and the budgets, rate limits, guards and require rules that apply. Laid out by
Graphviz. A file without policies draws its catalog. Writes OUT, or standard output.
Exit status: 0 drawn, 1 FILE has syntax errors, 2 usage.`;

const FORMATS = ['svg', 'dot', 'mermaid'] as const;

export async function graph(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { format: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o' } },
    graphUsage,
  );
  if (values.help) return { stdout: graphUsage, exitCode: 0 };
  if (positionals.length !== 1) return { usage: `switchyard graph takes exactly one FILE\n${graphUsage}` };
  const out = values.output as string | undefined;
  const format =
    (values.format as string | undefined) ??
    (out?.endsWith('.dot') ? 'dot' : out?.endsWith('.mmd') ? 'mermaid' : 'svg');
  if (!(FORMATS as readonly string[]).includes(format)) {
    return { usage: `--format must be svg, dot or mermaid, not '${format}'` };
  }

  const ws = await loadWorkspace(positionals, { validate: false });
  const root = ws.roots[0]!;
  const { lexerErrors, parserErrors } = root.parseResult;
  if (lexerErrors.length > 0 || parserErrors.length > 0) {
    await ws.services.shared.workspace.DocumentBuilder.build([root], { validation: true });
    const text = root.textDocument.getText();
    const errors = (root.diagnostics ?? [])
      .filter((d) => d.severity === 1)
      .map((d) => formatLocated(fromDiagnostic(root, d), text));
    return {
      stderr: [...errors, `cannot draw ${positionals[0]}: it has syntax errors`].join('\n'),
      exitCode: 1,
    };
  }
  const graph = buildPolicyGraph(root.parseResult.value);
  const text =
    format === 'dot' ? toDot(graph) : format === 'mermaid' ? toMermaid(graph) : await renderSvg(graph);
  if (out) {
    try {
      fs.writeFileSync(out, text);
    } catch (error) {
      throw new CliError(
        'E-WRITE',
        `cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return { stderr: `wrote ${out} (${graph.nodes.length} nodes, ${graph.edges.length} edges)`, exitCode: 0 };
  }
  return { stdout: text.trimEnd(), exitCode: 0 };
}
