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
import { SwitchyardScopeProvider } from './scope-provider.js';
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
export const SwitchyardModule: Module<SwitchyardServices, PartialLangiumCoreServices & SwitchyardAddedServices> = {
  parser: {
    ValueConverter: () => new SwitchyardValueConverter(),
  },
  references: {
    ScopeProvider: (services) => new SwitchyardScopeProvider(services),
  },
  validation: {
    SwitchyardValidator: (services) => new SwitchyardValidator(services),
  },
};

/** Core (non-LSP) services: what `switchyard check|compile|test` use. */
export function createSwitchyardServices(context: DefaultSharedCoreModuleContext): {
  shared: LangiumSharedCoreServices;
  Switchyard: SwitchyardServices;
} {
  const shared = inject(createDefaultSharedCoreModule(context), SwitchyardGeneratedSharedModule);
  const Switchyard = inject(createDefaultCoreModule({ shared }), SwitchyardGeneratedModule, SwitchyardModule);
  shared.ServiceRegistry.register(Switchyard);
  registerValidationChecks(Switchyard);
  return { shared, Switchyard };
}
