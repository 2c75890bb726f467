/**
 * Rename: Langium's (every reference across the workspace, then the declaration), refusing a new
 * name the language would not read as a name and declining tests, whose names are strings.
 */
import type { LangiumDocument, MaybePromise } from 'langium';
import { CstUtils } from 'langium';
import { DefaultRenameProvider } from 'langium/lsp';
import {
  ResponseError,
  ErrorCodes,
  type Range,
  type RenameParams,
  type TextDocumentPositionParams,
  type WorkspaceEdit,
} from 'vscode-languageserver-protocol';
import { isTest } from '../generated/ast.js';

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** Keywords that can never be names (docs/language.md §2.2). */
const RESERVED = new Set(['and', 'or', 'not', 'in', 'true']);

export class SwitchyardRenameProvider extends DefaultRenameProvider {
  override async rename(document: LangiumDocument, params: RenameParams): Promise<WorkspaceEdit | undefined> {
    const name = params.newName;
    if (!NAME.test(name)) {
      throw new ResponseError(
        ErrorCodes.InvalidParams,
        `'${name}' is not a name: use ASCII letters, digits, '_' and '-', starting with a letter`,
      );
    }
    if (RESERVED.has(name))
      throw new ResponseError(ErrorCodes.InvalidParams, `'${name}' is reserved and cannot be a name`);
    return super.rename(document, params);
  }

  override prepareRename(
    document: LangiumDocument,
    params: TextDocumentPositionParams,
  ): MaybePromise<Range | undefined> {
    const root = document.parseResult.value.$cstNode;
    const leaf = root
      ? CstUtils.findLeafNodeAtOffset(root, document.textDocument.offsetAt(params.position))
      : undefined;
    if (leaf && isTest(leaf.astNode) && this.nameProvider.getNameNode(leaf.astNode) === leaf)
      return undefined;
    return super.prepareRename(document, params);
  }
}
