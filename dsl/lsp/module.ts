/**
 * The language server's services: Langium's LSP defaults, the policy language's own services
 * (dsl/switchyard-module.ts, the same the CLI uses) and one provider per editor feature, one file
 * each under dsl/lsp/.
 */
import { EmptyFileSystem, inject, type Module } from 'langium';
import {
  createDefaultModule,
  createDefaultSharedModule,
  type DefaultSharedModuleContext,
  type LangiumServices,
  type LangiumSharedServices,
  type PartialLangiumServices,
  type PartialLangiumSharedServices,
} from 'langium/lsp';
import { SwitchyardGeneratedModule, SwitchyardGeneratedSharedModule } from '../generated/module.js';
import { type SwitchyardAddedServices, SwitchyardModule } from '../switchyard-module.js';
import { registerValidationChecks } from '../validation/validator.js';
import { SwitchyardCodeActionProvider } from './code-actions.js';
import { SwitchyardCompletionProvider } from './completion.js';
import { SwitchyardDocumentBuilder } from '../build/document-builder.js';
import {
  FastDocumentValidator,
  FastLinker,
  FastReferenceDescriptionProvider,
  LazyReferenceIndexManager,
} from '../build/fast-build.js';
import { IncrementalDocumentFactory } from '../build/incremental.js';
import { SwitchyardFormatter } from './formatter.js';
import { SwitchyardHoverProvider } from './hover.js';
import { SwitchyardNodeKindProvider } from './node-kinds.js';
import { SwitchyardRenameProvider } from './rename.js';
import { SwitchyardSemanticTokenProvider } from './semantic-tokens.js';

export type SwitchyardLspServices = LangiumServices & SwitchyardAddedServices;

/** The editor features of the policy language. */
export const SwitchyardLspModule: Module<SwitchyardLspServices, PartialLangiumServices> = {
  // The same results as Langium's defaults, faster on large files (see dsl/build/fast-build.ts).
  // Scoping is the language's own (dsl/scope-provider.ts, from SwitchyardModule), as in the CLI.
  references: {
    Linker: (services) => new FastLinker(services),
  },
  workspace: {
    ReferenceDescriptionProvider: (services) => new FastReferenceDescriptionProvider(services),
  },
  validation: {
    DocumentValidator: (services) => new FastDocumentValidator(services),
  },
  lsp: {
    Formatter: (services) => new SwitchyardFormatter(services),
    HoverProvider: (services) => new SwitchyardHoverProvider(services),
    CompletionProvider: (services) => new SwitchyardCompletionProvider(services),
    CodeActionProvider: () => new SwitchyardCodeActionProvider(),
    SemanticTokenProvider: (services) => new SwitchyardSemanticTokenProvider(services),
    RenameProvider: (services) => new SwitchyardRenameProvider(services),
  },
};

export const SwitchyardSharedLspModule: Module<LangiumSharedServices, PartialLangiumSharedServices> = {
  lsp: {
    NodeKindProvider: () => new SwitchyardNodeKindProvider(),
  },
  workspace: {
    DocumentBuilder: (services) => new SwitchyardDocumentBuilder(services),
    LangiumDocumentFactory: (services) => new IncrementalDocumentFactory(services),
    IndexManager: (services) => new LazyReferenceIndexManager(services),
  },
};

/** Services the language server adds over these (language-server/: test lenses, traffic hover). */
export interface ExtraLspModules {
  shared?: Module<LangiumSharedServices, PartialLangiumSharedServices>;
  language?: Module<SwitchyardLspServices, PartialLangiumServices>;
}

/**
 * Creates the language server's services. Without a `connection` (tests, `switchyard fmt`) they
 * work on documents the caller loads.
 */
export function createSwitchyardLspServices(
  context: DefaultSharedModuleContext = EmptyFileSystem,
  extra: ExtraLspModules = {},
): {
  shared: LangiumSharedServices;
  Switchyard: SwitchyardLspServices;
} {
  const shared = inject(
    createDefaultSharedModule(context),
    SwitchyardGeneratedSharedModule,
    SwitchyardSharedLspModule,
    extra.shared ?? {},
  );
  const Switchyard = inject(
    createDefaultModule({ shared }),
    SwitchyardGeneratedModule,
    SwitchyardModule,
    SwitchyardLspModule,
    extra.language ?? {},
  );
  shared.ServiceRegistry.register(Switchyard);
  registerValidationChecks(Switchyard);
  if (!context.connection) {
    // Without a client there is no configuration to wait for.
    void shared.workspace.ConfigurationProvider.initialized({});
  }
  return { shared, Switchyard };
}
