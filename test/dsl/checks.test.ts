/**
 * The checks one by one, on small in-memory files next to the good fixtures (so `catalog.policy`
 * and `schemas/ticket.json` resolve): messages, quick-fix data, and the cases that must stay quiet.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IssueCodes } from '../../dsl/validation/issue-codes.js';
import { type Diag, at, diagnoseText } from './helpers.js';

let consoleError: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  consoleError = vi.spyOn(console, 'error');
});
afterEach(() => {
  expect(consoleError).not.toHaveBeenCalled();
  consoleError.mockRestore();
});

/**
 * Diagnostics of a policy file that imports the examples' catalog (llama-8b private, gpt-4o
 * external).
 */
async function check(body: string, extra: Record<string, string> = {}): Promise<Diag[]> {
  const diags = await diagnoseText({ 'virtual-check.policy': `import "catalog.policy"\n${body}`, ...extra });
  return diags.filter((d) => d.file === 'virtual-check.policy' || d.file in extra);
}

function messages(diags: Diag[], code: string): string[] {
  return diags.filter((d) => d.code === code).map((d) => d.message);
}

const policy = (items: string): string => `policy p {\n${items}\n  otherwise reject\n}\n`;

describe('references', () => {
  it('suggest the closest name and carry the candidates', async () => {
    const diags = await check(policy('  route r when true { use gpt-4 }'));
    const d = diags.find((x) => x.code === IssueCodes.UnknownReference)!;
    expect(d.message).toBe("unknown model 'gpt-4'; did you mean 'gpt-4o'?");
    expect(d.data).toMatchObject({ refText: 'gpt-4', type: 'Model', candidates: ['gpt-4o'] });
  });

  it('say which file to import when the name exists elsewhere', async () => {
    const diags = await diagnoseText({
      'virtual-a.policy': 'policy p {\n  route r when true { use llama-8b }\n  otherwise reject\n}\n',
      'virtual-b.policy': 'import "catalog.policy"\n',
    });
    expect(diags.map((d) => `${d.file} ${at(d)} ${d.message}`)).toEqual([
      `virtual-a.policy SY011-unknown-reference at 2:27 model 'llama-8b' is defined in catalog.policy, which this file does not import (add import "catalog.policy")`,
    ]);
    expect(diags[0]!.data).toMatchObject({ importPath: 'catalog.policy' });
  });

  it('name the policy for routes and budgets, and stay quiet in a test of an unknown policy', async () => {
    const diags = await check(
      `${policy('  route chat when true { use llama-8b }')}\ntest "t" for p { request { capability "chat" } given spent monthly $1 expect route chatt }\ntest "u" for nope { request { capability "chat" } expect route chat }\n`,
    );
    expect(messages(diags, IssueCodes.UnknownReference)).toEqual([
      "unknown budget 'monthly' in policy 'p'",
      "unknown route 'chatt' in policy 'p'; did you mean 'chat'?",
      "unknown policy 'nope'",
    ]);
  });
});

describe('routes', () => {
  it('find routes an identical or broader condition covers, and not others', async () => {
    const diags = await check(
      policy(`  route a when capability == "chat" and mode == batch { use llama-8b }
  route b when mode == batch and (capability == "chat") { use llama-8b }
  route c when capability == "chat" and mode == batch and team == "x" { use llama-8b }
  route d when capability == "chat" { use llama-8b }
  route e when capability == "chat" or mode == batch { use llama-8b }
  route f when input.tokens > 8k { use llama-8b }
  route g when input.tokens > 8000 and team == "y" { use llama-8b }
  route h when classification >= confidential or team == "z" { use llama-8b }
  route i when team == "z" or classification >= confidential { use llama-8b }`),
    );
    expect(messages(diags, IssueCodes.UnreachableRoute)).toEqual([
      `route 'b' can never match: route 'a' before it has the same condition (capability == "chat" and mode == batch)`,
      `route 'c' can never match: every request it matches is taken by route 'a' before it (when capability == "chat" and mode == batch)`,
      `route 'g' can never match: every request it matches is taken by route 'f' before it (when input.tokens > 8k)`,
      `route 'i' can never match: route 'h' before it has the same condition (classification >= confidential or team == "z")`,
    ]);
  });

  it('warn about a missing otherwise unless a route matches everything', async () => {
    const quiet = await check('policy p {\n  route all when (true) { use llama-8b }\n}\n');
    expect(quiet).toEqual([]);
    const loud = await check('policy p {\n  route r when mode == batch { use llama-8b }\n}\n');
    expect(loud.map(at)).toEqual(['SY054-no-otherwise at 2:8']);
    expect(loud[0]!.data).toMatchObject({ policy: 'p' });
  });

  it('say which requests a require refuses, and skip routes those requests never reach', async () => {
    const diags = await check(
      policy(`  require private when classification >= confidential
  require region "eu"
  route hosted when capability == "reasoning" { use gpt-4o fallback gpt-4o timeout 5s }
  route public when capability == "chat" and classification == public { use gpt-4o }
  route mixed when capability == "summarize" { use gpt-4o fallback llama-8b }`),
    );
    expect(messages(diags, IssueCodes.RequireEmptiesChain)).toEqual([
      "route 'hosted' has no private model: requests with classification >= confidential will be refused (require private when classification >= confidential)",
      `route 'hosted' has no model in region "eu": every request it matches will be refused (require region "eu")`,
      `route 'public' has no model in region "eu": every request it matches will be refused (require region "eu")`,
      `route 'mixed' has no model in region "eu": every request it matches will be refused (require region "eu")`,
    ]);
  });

  it('compute the worst case along the slowest path, split picks included', async () => {
    const diags = await check(
      policy(`  route a when capability == "chat" {
    split llama-8b 50%, gpt-4o 50% timeout 10s retries 1
    fallback llama-8b
    deadline 40s
  }
  route b when capability == "classify" {
    use llama-8b timeout 1s retries 3
    deadline 16s
  }
  route c when capability == "summarize" {
    use llama-8b timeout 1s retries 3
    deadline 15s
  }`),
    );
    // a: a split pick of either model (2 × 10s + 1s backoff), then llama-8b with its provider's
    // 30s = 51s. b and c: 4 × 1s + backoffs 1s + 2s + 4s = 11s, within 16s and 15s.
    expect(
      diags.filter((d) => d.code === IssueCodes.DeadlineTooShort).map((d) => [d.message, d.data]),
    ).toEqual([
      [
        "deadline 40s of route 'a' is shorter than its chain's worst case, 51s (llama-8b 2 attempts × 10s + 1s backoff, then fallback llama-8b 30s)",
        { code: IssueCodes.DeadlineTooShort, deadlineMs: 40_000, worstCaseMs: 51_000 },
      ],
    ]);
  });

  it('flag fallbacks and escalations to the primary model', async () => {
    const diags = await check(
      policy(`  route r when true {
    use llama-8b
    fallback llama-8b
    escalate llama-8b when output.empty
    escalate gpt-4o when output.truncated
  }`),
    );
    expect(
      diags.filter((d) => d.code === IssueCodes.TargetIsPrimary).map((d) => `${at(d)} ${d.message}`),
    ).toEqual([
      "SY057-target-is-primary at 5:14 fallback to 'llama-8b' repeats the primary model of route 'r' (use retries on the use target instead)",
      "SY057-target-is-primary at 6:14 escalate to 'llama-8b' can never run: 'llama-8b' is the primary model of route 'r', tried first",
    ]);
  });

  it('check capabilities only for capability == in the top-level and', async () => {
    const diags = await check(
      policy(`  route a when capability == "reasoning" and mode == interactive { use llama-8b }
  route b when capability == "reasoning" or capability == "chat" { use llama-8b }
  route c when not capability == "reasoning" { use llama-8b }`),
    );
    expect(diags.filter((d) => d.code === IssueCodes.MissingCapability).map(at)).toEqual([
      'SY058-missing-capability at 3:72',
    ]);
  });

  it('check max-tokens on every split target, and accept it up to the context', async () => {
    const diags = await check(
      policy(`  route a when true {
    split llama-8b 50%, gpt-4o 50% max-tokens 128k
    fallback gpt-4o max-tokens 200k
  }`),
    );
    expect(messages(diags, IssueCodes.MaxTokensAboveContext)).toEqual([
      "max-tokens 200k is above the context of model 'gpt-4o' (128k)",
    ]);
  });
});

describe('conditions', () => {
  it('know every request field and its kind', async () => {
    const diags = await check(
      policy(`  route a when capability == "chat" and mode in [interactive, batch] and classification < restricted
    and team != "x" and app == "y" and user == "z" and region in ["eu", "us"] and tag.ticket == "T-1"
    and input.tokens > 8k and max-tokens <= 512 and latency < 2s { use llama-8b }`),
    );
    expect(diags).toEqual([]);
  });

  it('refuse wrong kinds with a hint', async () => {
    const diags = await check(
      policy(
        `  route a when classification == secret or capability == chat or input.tokens > 2s or tag.x == 1 or tag == "a" { use llama-8b }`,
      ),
    );
    expect(diags.map((d) => d.message)).toEqual([
      'classification takes public, internal, confidential or restricted (bare, without quotes), found secret',
      'capability takes a string such as "chat", found chat: write "chat"',
      'input.tokens takes a token count such as 8k, found 2s',
      'tag.x takes a string in double quotes, found 1',
      "unknown field 'tag': tags are named, as in tag.ticket (fields: capability, mode, classification, team, app, user, region, input.tokens, max-tokens, latency, tag.NAME)",
    ]);
  });

  it('accept output conditions in escalate only, and flags alone', async () => {
    const diags = await check(
      policy(`  require private when output.empty
  route a when true {
    use llama-8b
    escalate gpt-4o when output.truncated or not output.empty or output.tokens > 1k
    escalate gpt-4o when output.invalid != x
    escalate gpt-4o when output.tokens
  }`),
    );
    expect(diags.map((d) => `${d.code} ${d.message}`)).toEqual([
      `${IssueCodes.OutputOutsideEscalate} output.empty describes a model's answer: it can only appear after escalate … when, not in a require condition`,
      `${IssueCodes.InvalidOperator} output.invalid is a flag: write it alone (or with not), without !=`,
      `${IssueCodes.BareField} output.tokens needs a comparison, such as output.tokens > 1k`,
    ]);
  });
});

describe('providers', () => {
  it('accept loopback openai endpoints without an api-key', async () => {
    const diags = await check(`
provider local-a { kind openai endpoints "http://127.0.0.5:8000/v1" }
provider local-b { kind openai endpoints "http://[::1]:8000/v1", "http://localhost:8080" }
`);
    expect(diags).toEqual([]);
  });

  it('check the model-file of embedded providers relative to the file', async () => {
    const diags = await check(`
provider on-box { kind embedded model-file "../../../fixtures/models/stories260K.gguf" }
provider gone { kind embedded model-file "stories260K.gguf" }
`);
    expect(diags.map(at)).toEqual(['SY075-model-file-not-found at 4:42']);
  });
});

describe('budgets', () => {
  it('accept a downgrade to the cheapest model, flag a dearer one', async () => {
    const diags = await check(
      policy(`  budget cheap { limit $1 per day on-exceed downgrade llama-8b }
  budget dear { tokens 1M per day on-exceed downgrade gpt-4o }
  route a when true { use llama-8b fallback gpt-4o }`),
    );
    expect(diags.map((d) => [at(d), d.data])).toEqual([
      [
        'SY081-costlier-downgrade at 4:55',
        { code: IssueCodes.CostlierDowngrade, model: 'gpt-4o', cheaper: ['llama-8b'] },
      ],
    ]);
  });
});

describe('guards and literals', () => {
  it('accept the schema and regex of the spec, refuse others', async () => {
    const diags = await check(
      policy(`  guard ok after all { schema "schemas/ticket.json" block /BEGIN [A-Z ]*PRIVATE KEY/i }
  guard bad before all { block /a{2,1}/ block /x/gg }
  route a when true { use llama-8b }`),
    );
    expect(diags.map((d) => d.message)).toEqual([
      '/a{2,1}/ is not a valid JavaScript regular expression: Invalid regular expression: /a{2,1}/: numbers out of order in {} quantifier',
      "/x/gg is not a valid JavaScript regular expression: Invalid flags supplied to RegExp constructor 'gg'",
    ]);
  });

  it('keep money exact to 1e-9 $', async () => {
    const diags = await check(
      policy(
        '  budget b { limit $0.000000001 per day }\n  budget c { limit $9007199.254740992 per day }\n  route a when true { use llama-8b }',
      ),
    );
    expect(diags.map((d) => d.message)).toEqual([
      '$9007199.254740992 is too large: amounts go up to $9007199',
    ]);
  });

  it('want one of each single-valued item, in any order', async () => {
    const diags = await check(`
model m { provider gpu-east name "m" context 8k name "n" capabilities chat price input $1 per 1k, input $2 per 1k }
${policy('  version 1\n  audit { prompts full retain 3 days prompts none }\n  audit { }\n  route a when true { use m deadline 50s deadline 60s }')}
test "t" for p { request { capability "chat" team "a" team "b" } expect route a expect model m }
`);
    expect(diags.map((d) => `${at(d)} ${d.message}`)).toEqual([
      "SY031-repeated-item at 3:49 name may appear once in model 'm' (first at line 3)",
      'SY031-repeated-item at 3:99 the input price is given twice (first at line 3)',
      'SY031-repeated-item at 6:38 prompts may appear once in audit (first at line 6)',
      "SY031-repeated-item at 7:3 audit may appear once in policy 'p' (first at line 6)",
      "SY031-repeated-item at 8:42 deadline may appear once in route 'a' (first at line 8)",
      'SY031-repeated-item at 12:55 team may appear once in a request (first at line 12)',
      'SY031-repeated-item at 12:81 expect may appear once in test "t" (first at line 12)',
    ]);
  });
});
