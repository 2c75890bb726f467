import * as fs from 'node:fs';
import { canonicalJson } from '../../plan/canonical.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { compileFiles } from '../plans.js';

export const compileUsage = `usage: switchyard compile FILE [--policy NAME] [-o OUT] [--pretty]

Compiles the policy declared in FILE (and what it imports) into its plan: canonical JSON that
validates against plan/plan.schema.json, named by the sha256 of its canonical form.
Writes to OUT, or to standard output. A file with several policies needs --policy.
Exit status: 0 compiled, 1 errors, 2 usage.`;

export async function compile(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { output: { type: 'string', short: 'o' }, policy: { type: 'string' }, pretty: { type: 'boolean' } },
    compileUsage,
  );
  if (values.help) return { stdout: compileUsage, exitCode: 0 };
  if (positionals.length !== 1)
    return { usage: `switchyard compile takes exactly one FILE\n${compileUsage}` };

  const { plans, errors, warnings } = await compileFiles(positionals);
  if (errors.length > 0) return { stderr: [...errors, ...warnings].join('\n'), exitCode: 1 };

  const wanted = values.policy as string | undefined;
  if (plans.size === 0) throw new CliError('E-NO-POLICY', `${positionals[0]} declares no policy`);
  if (wanted === undefined && plans.size > 1) {
    return {
      usage: `${positionals[0]} declares ${plans.size} policies (${[...plans.keys()].join(', ')}): choose one with --policy`,
    };
  }
  const plan = wanted === undefined ? [...plans.values()][0]! : plans.get(wanted);
  if (!plan)
    throw new CliError(
      'E-NO-POLICY',
      `${positionals[0]} declares no policy '${wanted}' (it has ${[...plans.keys()].join(', ')})`,
    );

  const json = values.pretty ? JSON.stringify(JSON.parse(canonicalJson(plan)), null, 2) : canonicalJson(plan);
  const out = values.output as string | undefined;
  if (out) {
    try {
      fs.writeFileSync(out, `${json}\n`);
    } catch (error) {
      throw new CliError(
        'E-WRITE',
        `cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return { stderr: [...warnings, `wrote ${out} (${plan.name} ${plan.hash})`].join('\n'), exitCode: 0 };
  }
  return { stdout: json, stderr: warnings.length ? warnings.join('\n') : undefined, exitCode: 0 };
}
