/**
 * Imports (docs/language.md §2.1): a `.policy` file, relative to the importing file, that is
 * loaded.
 */
import { AstUtils, type ValidationChecks } from 'langium';
import type { SwitchyardAstType } from '../generated/ast.js';
import { resolveImport } from '../scope-provider.js';
import type { SwitchyardServices } from '../switchyard-module.js';
import { IssueCodes } from './issue-codes.js';

export function importChecks(services: SwitchyardServices): ValidationChecks<SwitchyardAstType> {
  const documents = services.shared.workspace.LangiumDocuments;
  const fileSystem = services.shared.workspace.FileSystemProvider;
  return {
    Import: (imp, accept) => {
      if (typeof imp.path !== 'string') return;
      if (!imp.path.endsWith('.policy')) {
        accept('error', `cannot import "${imp.path}": only .policy files can be imported`, {
          node: imp,
          property: 'path',
          code: IssueCodes.NotAPolicyFile,
          data: { code: IssueCodes.NotAPolicyFile, path: imp.path },
        });
        return;
      }
      const document = AstUtils.getDocument(imp);
      const uri = resolveImport(document, imp.path);
      if (documents.hasDocument(uri)) return;
      let exists = false;
      try {
        exists = fileSystem.existsSync(uri);
      } catch {
        /* a file system without `existsSync` (the browser): treat as missing */
      }
      const reason = exists ? 'the file could not be loaded' : `no such file (${uri.fsPath})`;
      accept('error', `cannot import "${imp.path}": ${reason}`, {
        node: imp,
        property: 'path',
        code: IssueCodes.MissingImport,
        data: { code: IssueCodes.MissingImport, path: imp.path, resolved: uri.toString() },
      });
    },
  };
}
