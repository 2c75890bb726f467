/**
 * The editor and `execution durable | direct` (docs/language.md §4.9): completion
 * offers the item and its two modes, hover says how a route runs and where its mode comes from,
 * and the formatter gives the item its own line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeFileSystem } from 'langium/node';
import { clearDocuments, expectCompletion, expectFormatting, expectHover } from 'langium/test';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyardLspServices } from '../../dsl/lsp/module.js';
import { fmt } from '../../cli/commands/fmt.js';

const services = createSwitchyardLspServices(NodeFileSystem);
const lsp = services.Switchyard;

const CATALOG = `provider pool { kind ollama endpoints "http://localhost:11434" private }
model small { provider pool context 8k capabilities chat }
`;

afterEach(async () => {
  await clearDocuments(services.shared);
});

describe('completion', () => {
  const completion = expectCompletion(lsp);
  const labels = (items: { label: string }[]): string[] => items.map((i) => i.label);

  it('offers execution in a policy and in a route', async () => {
    await completion({
      text: `${CATALOG}policy p {\n  <|>\n}\n`,
      index: 0,
      assert: (list) => expect(labels(list.items)).toContain('execution'),
    });
    await completion({
      text: `${CATALOG}policy p {\n  route r when true {\n    use small\n    <|>\n  }\n}\n`,
      index: 0,
      assert: (list) => expect(labels(list.items)).toContain('execution'),
    });
  });

  it('offers durable and direct, and only those, after execution', async () => {
    await completion({
      text: `${CATALOG}policy p {\n  route r when true {\n    use small\n    execution <|>\n  }\n}\n`,
      index: 0,
      assert: (list) => {
        expect(labels(list.items).sort()).toEqual(['direct', 'durable']);
        const direct = list.items.find((i) => i.label === 'direct');
        expect(direct?.documentation).toMatch(/front door runs the request in its own process/);
      },
    });
  });
});

describe('hover on a route', () => {
  const hover = expectHover(lsp);
  const policy = `policy p {
  execution direct
  route <|>own when capability == "chat" {
    use small
    execution durable
  }
  route <|>inherited when true {
    use small
  }
}
`;

  it("says the route's own mode", async () => {
    await hover({
      text: `${CATALOG}${policy}`,
      index: 0,
      hover: /Execution: \*\*durable\*\* — each request is one workflow/,
    });
  });

  it("says when the mode is the policy's default", async () => {
    await hover({
      text: `${CATALOG}${policy}`,
      index: 1,
      hover: /Execution: \*\*direct\*\* \(the policy's default\) — the HTTP front door runs each request/,
    });
  });

  it('says durable when nothing says otherwise', async () => {
    await hover({
      text: `${CATALOG}policy p {\n  route <|>r when true { use small }\n}\n`,
      index: 0,
      hover: /Execution: \*\*durable\*\* \(the default\)/,
    });
  });
});

describe('formatting', () => {
  const formatting = expectFormatting(lsp);

  it('puts execution on its own line, in a policy and in a route', async () => {
    await formatting({
      before: `policy p { execution direct\nroute r when true {\n use small   execution    durable\n }\n}\n`,
      after: `policy p {\n  execution direct\n  route r when true {\n    use small\n    execution durable\n  }\n}\n`,
    });
  });

  it('is what switchyard fmt does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-fmt-'));
    const file = path.join(dir, 'p.policy');
    fs.writeFileSync(file, `policy p {\nroute r when true { use small\nexecution direct }\n}\n`);
    const { exitCode } = await fmt([file]);
    expect(exitCode).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(
      `policy p {\n  route r when true {\n    use small\n    execution direct\n  }\n}\n`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
