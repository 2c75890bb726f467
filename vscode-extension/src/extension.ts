/**
 * The Switchyard extension: starts the language server (the bundled language-server/, over IPC)
 * and adds the commands: check, compile, explain the test under the cursor, run the file's tests
 * (in the server, like the test code lenses: results in the lenses, failed expectations and
 * coverage hints as its diagnostics) and show the policy diagram.
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
  RunFileTestsCommand,
  type TestRunResult,
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
  context.subscriptions.push(output);

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

  // The tests run in the server (its `switchyard.server.runFileTests` command, which the lenses
  // also call): it publishes failed expectations and coverage hints and refreshes the lenses.
  command('switchyard.runTests', async () => {
    const editor = policyEditor();
    if (!editor) return;
    const result = await vscode.commands.executeCommand<TestRunResult>(
      RunFileTestsCommand,
      editor.document.uri.toString(),
    );
    if (result.errors.length > 0) {
      output.clear();
      output.appendLine(result.errors.join('\n'));
      output.show(true);
    }
    const passed = result.results.filter((t) => t.passed).length;
    const failed = result.results.length - passed;
    const coverage = (result.coverage ?? [])
      .map((c) => `coverage of ${c.policy} ${c.percent.toFixed(1)}%`)
      .join(', ');
    const message = `Switchyard: ${passed} passed, ${failed} failed${coverage ? `; ${coverage}` : ''}`;
    if (failed > 0 || result.errors.length > 0) void vscode.window.showErrorMessage(message);
    else void vscode.window.showInformationMessage(message);
  });

  command('switchyard.showDiagram', async () => {
    const editor = policyEditor();
    if (editor) DiagramPanel.show(context, running, editor.document);
  });
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
