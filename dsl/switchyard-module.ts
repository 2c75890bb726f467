import {
  createDefaultCoreModule,
  createDefaultSharedCoreModule,
  type DefaultSharedCoreModuleContext,
  inject,
  type LangiumCoreServices,
  type LangiumSharedCoreServices,
  type Module,
  type PartialLangiumCoreServices,
} from 'langium';
import { SwitchyardGeneratedModule, SwitchyardGeneratedSharedModule } from './generated/module.js';
import { SwitchyardScopeComputation, SwitchyardScopeProvider } from './scope-provider.js';
import { SwitchyardDocumentValidator } from './validation/document-validator.js';
import { SwitchyardValidationRegistry } from './validation/fast-validation.js';
import { createSwitchyardParser, SwitchyardLexer } from './parser/nesting-guard.js';
import {
  SwitchyardLexerErrorMessageProvider,
  SwitchyardParserErrorMessageProvider,
} from './parser/syntax-messages.js';
import { SwitchyardTokenBuilder } from './parser/syntax-tokens.js';
import { SwitchyardValidator, registerValidationChecks } from './validation/validator.js';
import { SwitchyardValueConverter } from './value-converter.js';

/** Services the policy language adds to Langium's. */
export interface SwitchyardAddedServices {
  validation: {
    SwitchyardValidator: SwitchyardValidator;
  };
}

export type SwitchyardServices = LangiumCoreServices & SwitchyardAddedServices;

/** Every custom service of the language, wired in one place (used by the CLI and the language server). */
export const SwitchyardModule: Module<
  SwitchyardServices,
  PartialLangiumCoreServices & SwitchyardAddedServices
> = {
  parser: {
    ValueConverter: () => new SwitchyardValueConverter(),
    // Plain-language syntax errors, invalid-literal tokens and the condition nesting guard.
    TokenBuilder: () => new SwitchyardTokenBuilder(),
    Lexer: (services) => new SwitchyardLexer(services),
    LangiumParser: (services) => createSwitchyardParser(services),
    ParserErrorMessageProvider: () => new SwitchyardParserErrorMessageProvider(),
    LexerErrorMessageProvider: () => new SwitchyardLexerErrorMessageProvider(),
  },
  references: {
    ScopeProvider: (services) => new SwitchyardScopeProvider(services),
    ScopeComputation: (services) => new SwitchyardScopeComputation(services),
  },
  validation: {
    DocumentValidator: (services) => new SwitchyardDocumentValidator(services),
    ValidationRegistry: (services) => new SwitchyardValidationRegistry(services),
    SwitchyardValidator: (services) => new SwitchyardValidator(services),
  },
};

/**
 * A batch build (the CLI) never asks "where is this referenced?": skip indexing references, which
 * only find-references and rename in the editor need.
 */
const BatchModule: Module<SwitchyardServices, PartialLangiumCoreServices> = {
  workspace: {
    ReferenceDescriptionProvider: () => ({ createDescriptions: async () => [] }),
  },
};

/** Core (non-LSP) services: what `switchyard check|compile|test` use. */
export function createSwitchyardServices(
  context: DefaultSharedCoreModuleContext,
  options: { batch?: boolean } = {},
): {
  shared: LangiumSharedCoreServices;
  Switchyard: SwitchyardServices;
} {
  const shared = inject(createDefaultSharedCoreModule(context), SwitchyardGeneratedSharedModule);
  const Switchyard = options.batch
    ? inject(createDefaultCoreModule({ shared }), SwitchyardGeneratedModule, SwitchyardModule, BatchModule)
    : inject(createDefaultCoreModule({ shared }), SwitchyardGeneratedModule, SwitchyardModule);
  shared.ServiceRegistry.register(Switchyard);
  registerValidationChecks(Switchyard);
  return { shared, Switchyard };
}
