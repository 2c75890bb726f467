/** Handlers of the requests in protocol.ts. */
import { DocumentState, type LangiumDocument, URI } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
import type { Connection } from 'vscode-languageserver';
import { canonicalJson } from '../plan/canonical.js';
import { buildPolicyGraph, nodeSvgId, renderSvg } from '../dsl/graph/index.js';
import type { Document } from '../dsl/generated/ast.js';
import type { SwitchyardLspServices } from '../dsl/lsp/module.js';
import { compileDocument, explainTestAt, runDocumentTests } from './workspace-requests.js';
import {
  CheckRequest,
  type CheckResult,
  CompileRequest,
  type CompileResult,
  DiagramRequest,
  type DiagramResult,
  type DocumentParams,
  ExplainTestRequest,
  type ExplainTestParams,
  type ExplainTestResult,
  RunTestsRequest,
  type RunTestsResult,
} from './protocol.js';

export function registerSwitchyardRequests(
  connection: Connection,
  shared: LangiumSharedServices,
  services: SwitchyardLspServices,
): void {
  const documents = shared.workspace.LangiumDocuments;
  const builder = shared.workspace.DocumentBuilder;

  /** The document, once the build has validated it (the client may ask right after an edit). */
  const ready = async (uri: string, state = DocumentState.Validated): Promise<LangiumDocument> => {
    await shared.workspace.WorkspaceManager.ready;
    const parsed = URI.parse(uri);
    let document = documents.getDocument(parsed);
    if (!document) {
      document = await documents.getOrCreateDocument(parsed);
      await builder.build([document], { validation: true });
    }
    await builder.waitUntil(state, parsed);
    return document;
  };

  connection.onRequest(DiagramRequest, async (params: DocumentParams): Promise<DiagramResult> => {
    const document = await ready(params.uri, DocumentState.Linked);
    const { lexerErrors, parserErrors } = document.parseResult;
    if (lexerErrors.length > 0 || parserErrors.length > 0) {
      return {
        uri: params.uri,
        svg: '',
        nodes: [],
        edges: 0,
        error: 'the file has syntax errors: the diagram shows it as it last parsed',
      };
    }
    const graph = buildPolicyGraph(document.parseResult.value as Document);
    const svg = await renderSvg(graph);
    return {
      uri: params.uri,
      svg,
      edges: graph.edges.length,
      nodes: graph.nodes.map((node, index) => ({
        svgId: nodeSvgId(index),
        id: node.id,
        kind: node.kind,
        title: node.title,
        ...(node.location ? { uri: node.location.uri, range: node.location.range } : {}),
      })),
    };
  });

  connection.onRequest(CompileRequest, async (params: DocumentParams): Promise<CompileResult> => {
    const document = await ready(params.uri);
    const compiled = compileDocument(services, document);
    return {
      plans: compiled.plans.map((plan) => ({ name: plan.name, hash: plan.hash, json: canonicalJson(plan) })),
      errors: compiled.errors,
    };
  });

  connection.onRequest(RunTestsRequest, async (params: DocumentParams): Promise<RunTestsResult> => {
    const document = await ready(params.uri);
    return runDocumentTests(services, document);
  });

  connection.onRequest(ExplainTestRequest, async (params: ExplainTestParams): Promise<ExplainTestResult> => {
    const document = await ready(params.uri);
    return explainTestAt(services, document, document.textDocument.offsetAt(params.position));
  });

  connection.onRequest(CheckRequest, async (): Promise<CheckResult> => {
    await shared.workspace.WorkspaceManager.ready;
    await builder.waitUntil(DocumentState.Validated);
    const lines: { severity: number; text: string }[] = [];
    let files = 0;
    for (const document of documents.all) {
      files++;
      for (const d of document.diagnostics ?? []) {
        const severity = d.severity ?? 1;
        if (severity > 2) continue;
        lines.push({
          severity,
          text: `${document.uri.fsPath}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${severity === 1 ? 'error' : 'warning'} ${d.code ?? ''} ${d.message}`,
        });
      }
    }
    lines.sort((a, b) => a.severity - b.severity);
    return {
      files,
      errors: lines.filter((l) => l.severity === 1).length,
      warnings: lines.filter((l) => l.severity === 2).length,
      lines: lines.map((l) => l.text),
    };
  });
}
