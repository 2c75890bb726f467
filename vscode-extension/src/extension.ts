/**
 * The Switchyard extension: starts the language server (the bundled language-server/, over IPC)
 * and adds the commands: check, compile, explain the test under the cursor, run the file's tests
 * (results as diagnostics on the `test` blocks) and show the policy diagram.
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node.js';
import {
  CheckRequest,
  type CheckResult,
  CompileRequest,
  type CompileResult,
  ExplainTestRequest,
  type ExplainTestResult,
  RunTestsRequest,
  type RunTestsResult,
} from '../../language-server/protocol.js';
import { DiagramPanel } from './diagram-panel.js';

const LANGUAGE = 'switchyard-policy';

let client: LanguageClient | undefined;

function policyEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor?.document.languageId === LANGUAGE) return editor;
  void vscode.window.showWarningMessage('Open a .policy file first.');
  return undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath('dist/server.cjs');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: LANGUAGE },
      { scheme: 'untitled', language: LANGUAGE },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.policy') },
  };
  client = new LanguageClient('switchyard', 'Switchyard', serverOptions, clientOptions);
  await client.start();
  const running = client;

  const output = vscode.window.createOutputChannel('Switchyard');
  const testDiagnostics = vscode.languages.createDiagnosticCollection('switchyard-tests');
  context.subscriptions.push(output, testDiagnostics);

  const command = (name: string, run: () => Promise<void>): void => {
    context.subscriptions.push(
      vscode.commands.registerCommand(name, async () => {
        try {
          await run();
        } catch (error) {
          void vscode.window.showErrorMessage(`Switchyard: ${(error as Error).message}`);
        }
      }),
    );
  };

  command('switchyard.check', async () => {
    const result = await running.sendRequest<CheckResult>(CheckRequest, {});
    output.clear();
    output.appendLine(result.lines.join('\n'));
    output.appendLine(`${result.errors} errors, ${result.warnings} warnings in ${result.files} files`);
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    const message = `Switchyard: ${result.errors} errors, ${result.warnings} warnings in ${result.files} files`;
    if (result.errors > 0) void vscode.window.showErrorMessage(message);
    else void vscode.window.showInformationMessage(message);
  });

  command('switchyard.compile', async () => {
    const editor = policyEditor();
    if (!editor) return;
    const result = await running.sendRequest<CompileResult>(CompileRequest, {
      uri: editor.document.uri.toString(),
    });
    if (result.errors.length > 0) {
      output.clear();
      output.appendLine(result.errors.join('\n'));
      output.show(true);
      void vscode.window.showErrorMessage(
        `Switchyard: the policy does not compile (${result.errors.length} errors)`,
      );
      return;
    }
    if (result.plans.length === 0) {
      void vscode.window.showInformationMessage('Switchyard: this file declares no policy.');
      return;
    }
    for (const plan of result.plans) {
      const document = await vscode.workspace.openTextDocument({
        language: 'json',
        content: `${JSON.stringify(JSON.parse(plan.json), null, 2)}\n`,
      });
      await vscode.window.showTextDocument(document, {
        viewColumn: vscode.ViewColumn.Beside,
        preview: false,
      });
    }
  });

  command('switchyard.explainTest', async () => {
    const editor = policyEditor();
    if (!editor) return;
    const result = await running.sendRequest<ExplainTestResult>(ExplainTestRequest, {
      uri: editor.document.uri.toString(),
      position: editor.selection.active,
    });
    if (result.error) {
      void vscode.window.showWarningMessage(`Switchyard: ${result.error.split('\n')[0]}`);
      if (result.error.includes('\n')) {
        output.clear();
        output.appendLine(result.error);
        output.show(true);
      }
      return;
    }
    output.clear();
    output.appendLine(result.text);
    output.show(true);
  });

  command('switchyard.runTests', async () => {
    const editor = policyEditor();
    if (!editor) return;
    const uri = editor.document.uri;
    const result = await running.sendRequest<RunTestsResult>(RunTestsRequest, { uri: uri.toString() });
    if (result.errors.length > 0) {
      output.clear();
      output.appendLine(result.errors.join('\n'));
      output.show(true);
    }
    const diagnostics = result.results.map((test) => {
      const range = new vscode.Range(
        test.range.start.line,
        test.range.start.character,
        test.range.end.line,
        test.range.end.character,
      );
      const diagnostic = test.passed
        ? new vscode.Diagnostic(
            range,
            `test "${test.name}" passed: ${test.summary}`,
            vscode.DiagnosticSeverity.Information,
          )
        : new vscode.Diagnostic(
            range,
            `test "${test.name}" failed: ${test.failures.join('; ')} (${test.summary})`,
            vscode.DiagnosticSeverity.Error,
          );
      diagnostic.source = 'switchyard test';
      return diagnostic;
    });
    testDiagnostics.set(uri, diagnostics);
    const passed = result.results.filter((t) => t.passed).length;
    const failed = result.results.length - passed;
    const message = `Switchyard: ${passed} passed, ${failed} failed`;
    if (failed > 0 || result.errors.length > 0) void vscode.window.showErrorMessage(message);
    else void vscode.window.showInformationMessage(message);
  });

  command('switchyard.showDiagram', async () => {
    const editor = policyEditor();
    if (editor) DiagramPanel.show(context, running, editor.document);
  });

  // Test results describe the text they ran on: drop them when it changes.
  context.subscriptions.push(
    vscode.workspace.onDidChangeTextDocument((event) => {
      if (testDiagnostics.has(event.document.uri) && event.contentChanges.length > 0)
        testDiagnostics.delete(event.document.uri);
    }),
  );
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
