/**
 * Providers (docs/language.md §3.1): `embedded` needs a `model-file`, `openai` beyond loopback
 * needs an `api-key`, endpoints are http(s) URLs, and settings a kind ignores are flagged.
 */
import {
  AstUtils,
  EmptyFileSystemProvider,
  UriUtils,
  type ValidationAcceptor,
  type ValidationChecks,
} from 'langium';
import {
  type Provider,
  type SwitchyardAstType,
  isApiKey,
  isEndpoints,
  isModelFile,
} from '../generated/ast.js';
import type { SwitchyardServices } from '../switchyard-module.js';
import {
  hasApiKey,
  isPrivateProvider,
  isLoopbackHost,
  modelFile,
  parseEndpoint,
  providerEndpoints,
  providerKind,
} from './catalog-facts.js';
import { IssueCodes } from './issue-codes.js';

function checkKindNeeds(provider: Provider, accept: ValidationAcceptor): void {
  const kind = providerKind(provider);
  const label = `provider '${provider.name}'`;
  if (kind === 'embedded' && modelFile(provider) === undefined) {
    accept('error', `${label} (kind embedded) needs a model-file: model-file "models/NAME.gguf"`, {
      node: provider,
      property: 'name',
      code: IssueCodes.MissingModelFile,
      data: { code: IssueCodes.MissingModelFile, provider: provider.name },
    });
  }
  // docs/language.md §3.1: an *external* openai provider needs a key; a private one (vLLM on our
  // own hosts) may run without authentication. See docs/language.md.
  if (kind === 'openai' && !hasApiKey(provider) && !isPrivateProvider(provider)) {
    const remote = providerEndpoints(provider).find((url) => {
      const parsed = parseEndpoint(url);
      return parsed !== undefined && !isLoopbackHost(parsed.hostname);
    });
    if (remote !== undefined) {
      accept(
        'error',
        `${label} (kind openai) needs an api-key, such as api-key env OPENAI_API_KEY: its endpoint ${remote} is not on this machine`,
        {
          node: provider,
          property: 'name',
          code: IssueCodes.MissingApiKey,
          data: { code: IssueCodes.MissingApiKey, provider: provider.name, endpoint: remote },
        },
      );
    }
  }
  // Settings the kind does not use.
  for (const item of provider.items) {
    let unused: string | undefined;
    if (isModelFile(item) && kind !== undefined && kind !== 'embedded') unused = 'model-file';
    else if (isApiKey(item) && kind !== undefined && kind !== 'openai') unused = 'api-key';
    else if (isEndpoints(item) && kind === 'embedded') unused = 'endpoints';
    if (!unused) continue;
    const uses =
      unused === 'model-file'
        ? 'kind embedded uses'
        : unused === 'api-key'
          ? 'kind openai uses'
          : 'kinds ollama and openai use';
    accept('warning', `${unused} is not used by a provider of kind ${kind} (only ${uses} it)`, {
      node: item,
      code: IssueCodes.UnusedProviderSetting,
      data: { code: IssueCodes.UnusedProviderSetting, setting: unused, kind },
    });
  }
}

export function providerChecks(services: SwitchyardServices): ValidationChecks<SwitchyardAstType> {
  const fileSystem = services.shared.workspace.FileSystemProvider;
  return {
    Provider: checkKindNeeds,
    Endpoints: (endpoints, accept) => {
      endpoints.urls.forEach((url, index) => {
        if (typeof url !== 'string' || parseEndpoint(url)) return;
        accept('error', `endpoint "${url}" is not an http(s) URL such as "http://gpu-east-1:11434"`, {
          node: endpoints,
          property: 'urls',
          index,
          code: IssueCodes.InvalidEndpoint,
          data: { code: IssueCodes.InvalidEndpoint, url },
        });
      });
    },
    ModelFile: (item, accept) => {
      if (typeof item.path !== 'string' || providerKind(item.$container) !== 'embedded') return;
      // Without a file system (the browser) there is nothing to check.
      if (fileSystem instanceof EmptyFileSystemProvider) return;
      const document = AstUtils.getDocument(item);
      const uri = UriUtils.resolvePath(UriUtils.dirname(document.uri), item.path);
      if (fileSystem.existsSync(uri)) return;
      accept(
        'warning',
        `model-file "${item.path}" not found (looked for ${uri.fsPath}); paths are relative to this file`,
        {
          node: item,
          property: 'path',
          code: IssueCodes.ModelFileNotFound,
          data: { code: IssueCodes.ModelFileNotFound, path: item.path, resolved: uri.toString() },
        },
      );
    },
  };
}
