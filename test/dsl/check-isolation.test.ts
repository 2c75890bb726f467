/**
 * Each check of a node runs on its own (dsl/validation/validator.ts): a check that throws becomes
 * one `E-CHECK-FAILED` error at the node and the node's other checks still report; an asynchronous
 * check is awaited, so what it reports arrives. Both the CLI's services and the language server's
 * (whose faster validator re-runs checks per node) are checked with a deliberately broken check
 * and a slow one registered before and after the language's own.
 */
import {
  EmptyFileSystem,
  inject,
  type LangiumDocument,
  type Module,
  URI,
  type ValidationChecks,
} from 'langium';
import {
  createDefaultCoreModule,
  createDefaultSharedCoreModule,
  type LangiumCoreServices,
  type LangiumSharedCoreServices,
} from 'langium';
import { createDefaultModule, createDefaultSharedModule } from 'langium/lsp';
import type { Diagnostic } from 'vscode-languageserver-types';
import { describe, expect, it } from 'vitest';
import type { SwitchyardAstType } from '../../dsl/generated/ast.js';
import { SwitchyardGeneratedModule, SwitchyardGeneratedSharedModule } from '../../dsl/generated/module.js';
import { SwitchyardLspModule, SwitchyardSharedLspModule } from '../../dsl/lsp/module.js';
import {
  type SwitchyardAddedServices,
  SwitchyardModule,
  type SwitchyardServices,
} from '../../dsl/switchyard-module.js';
import { CHECK_FAILED, IssueCodes } from '../../dsl/validation/issue-codes.js';
import { SwitchyardValidator, registerValidationChecks } from '../../dsl/validation/validator.js';

const POLICY = `
provider gpu {
  kind ollama
  endpoints "http://localhost:11434"
  private
}

model small {
  provider gpu
  context 8k
  capabilities chat
}

policy p {
  route chat when capability == "chat" {
    use small
    fallback small
  }
  otherwise reject
}
`;

const SLOW = 'SY-TEST-slow-check';

/** The language's checks, with a broken check first and a slow one last for every route. */
class ValidatorUnderTest extends SwitchyardValidator {
  protected override concerns(): ValidationChecks<SwitchyardAstType>[] {
    return [
      {
        Route: () => {
          throw new Error('this check is broken on purpose');
        },
      },
      ...super.concerns(),
      {
        Route: async (route, accept) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          accept('warning', `route ${route.name} checked after a wait`, { node: route, code: SLOW });
        },
      },
    ];
  }
}

const testValidator: Module<SwitchyardServices, Partial<SwitchyardAddedServices>> = {
  validation: { SwitchyardValidator: (services) => new ValidatorUnderTest(services) },
};

type Built = { shared: LangiumSharedCoreServices; Switchyard: SwitchyardServices };

function cliServices(extra?: typeof testValidator): Built {
  const shared = inject(createDefaultSharedCoreModule(EmptyFileSystem), SwitchyardGeneratedSharedModule);
  const Switchyard = inject(
    createDefaultCoreModule({ shared }),
    SwitchyardGeneratedModule,
    SwitchyardModule,
    extra ?? {},
  );
  shared.ServiceRegistry.register(Switchyard);
  registerValidationChecks(Switchyard);
  return { shared, Switchyard };
}

function lspServices(extra?: typeof testValidator): Built {
  const shared = inject(
    createDefaultSharedModule(EmptyFileSystem),
    SwitchyardGeneratedSharedModule,
    SwitchyardSharedLspModule,
  );
  const Switchyard = inject(
    createDefaultModule({ shared }),
    SwitchyardGeneratedModule,
    SwitchyardModule,
    SwitchyardLspModule,
    extra ?? {},
  ) as unknown as SwitchyardServices & LangiumCoreServices;
  shared.ServiceRegistry.register(Switchyard);
  registerValidationChecks(Switchyard);
  void shared.workspace.ConfigurationProvider.initialized({});
  return { shared, Switchyard };
}

async function diagnosticsOf(built: Built): Promise<Diagnostic[]> {
  const document: LangiumDocument = built.shared.workspace.LangiumDocumentFactory.fromString(
    POLICY,
    URI.parse('memory:///isolation.policy'),
  );
  built.shared.workspace.LangiumDocuments.addDocument(document);
  await built.shared.workspace.DocumentBuilder.build([document], { validation: true });
  return document.diagnostics ?? [];
}

const summary = (d: Diagnostic): string =>
  `${String(d.code)} ${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`;

describe.each([
  ['the CLI services', cliServices],
  ['the language server services', lspServices],
])('checks in %s', (_name, create) => {
  it('still run after a check that throws, and wait for an asynchronous check', async () => {
    const plain = await diagnosticsOf(create());
    // The language's own route check reports the fallback to the primary (SY057).
    expect(plain.map((d) => d.code)).toContain(IssueCodes.TargetIsPrimary);

    const tested = await diagnosticsOf(create(testValidator));
    const failed = tested.filter((d) => d.code === CHECK_FAILED);
    expect(failed.map(summary)).toEqual([
      `${CHECK_FAILED} 15:3 internal error in a check of this Route (a bug in Switchyard): this check is broken on purpose`,
    ]);
    expect(failed[0]!.severity).toBe(1);
    expect(failed[0]!.message).not.toMatch(/\n\s+at /);
    expect(tested.filter((d) => d.code === SLOW).map(summary)).toEqual([
      `${SLOW} 15:3 route chat checked after a wait`,
    ]);
    // Everything the language reports without the test checks is still reported, unchanged.
    const own = tested.filter((d) => d.code !== CHECK_FAILED && d.code !== SLOW);
    expect(own.map(summary)).toEqual(plain.map(summary));
  });
});
