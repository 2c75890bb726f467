import {
  AstUtils,
  type AstNode,
  type Cancellation,
  interruptAndCheck,
  type LangiumCoreServices,
  type ValidationAcceptor,
  type ValidationCheck,
  ValidationRegistry,
} from 'langium';
import { reportCheckFailure } from './validator.js';

type Check = (node: AstNode, accept: ValidationAcceptor, token: Cancellation.CancellationToken) => unknown;

/**
 * Langium wraps every check in an async function and awaits it for every node, even when the
 * check is synchronous and the node has none: on a 50k-line file that bookkeeping costs as much
 * as the checks. This registry keeps the checks synchronous when they are (a failing check still
 * becomes a diagnostic, `E-CHECK-FAILED` as in validator.ts), and lists each type's checks once.
 */
export class SwitchyardValidationRegistry extends ValidationRegistry {
  private readonly byType = new Map<string, Check[]>();

  protected override wrapValidationException(check: ValidationCheck, thisObj: unknown): ValidationCheck {
    const report = reportCheckFailure;
    return ((node: AstNode, accept: ValidationAcceptor, token: Cancellation.CancellationToken) => {
      try {
        const result = check.call(thisObj, node, accept, token) as unknown;
        if (result instanceof Promise) return result.catch((error: unknown) => report(error, node, accept));
        return undefined;
      } catch (error) {
        report(error, node, accept);
        return undefined;
      }
    }) as ValidationCheck;
  }

  /** The checks of one node type (no categories), listed once. */
  checksFor(type: string): Check[] {
    let checks = this.byType.get(type);
    if (!checks) {
      checks = this.getChecks(type).toArray() as Check[];
      this.byType.set(type, checks);
    }
    return checks;
  }

  override register(...args: Parameters<ValidationRegistry['register']>): void {
    this.byType.clear();
    super.register(...args);
  }
}

/**
 * Runs every check of every node of a document, awaiting only the checks that return a promise
 * and yielding to the event loop only every few thousand nodes.
 */
export async function validateNodesFast(
  services: LangiumCoreServices,
  root: AstNode,
  accept: ValidationAcceptor,
  token: Cancellation.CancellationToken,
): Promise<void> {
  const registry = services.validation.ValidationRegistry as SwitchyardValidationRegistry;
  let count = 0;
  for (const node of AstUtils.streamAst(root)) {
    if (++count % 5_000 === 0) await interruptAndCheck(token);
    for (const check of registry.checksFor(node.$type)) {
      const result = check(node, accept, token);
      if (result instanceof Promise) await result;
    }
  }
}
