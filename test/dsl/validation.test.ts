/**
 * The validator against fixtures on disk: the examples (good/) have no errors and exactly
 * the warnings below; every bad/<code>.policy has exactly the diagnostics its `// expect:` markers
 * name; and every issue code has such a fixture.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IssueCodes, IssueSeverities } from '../../dsl/validation/issue-codes.js';
import { BAD, GOOD, at, diagnose, severityOf } from './helpers.js';

const MARKER = /\/\/ expect: (\S+) at (\d+):(\d+)/g;

function badFixtures(): string[] {
  return fs
    .readdirSync(BAD)
    .filter((f) => f.endsWith('.policy'))
    .sort();
}

function markersOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(MARKER)].map((m) => `${m[1]} at ${m[2]}:${m[3]}`);
}

describe('good fixtures (the examples)', () => {
  it('have no errors and the warnings the checks are expected to give', async () => {
    const diags = await diagnose([GOOD]);
    expect(diags.filter((d) => d.severity === 'error')).toEqual([]);
    expect(diags.map((d) => `${d.file} ${d.severity} ${at(d)}: ${d.message}`)).toEqual([
      // interactive: llama-8b 3 × 5s + 200ms + 400ms backoff = 15.6s, then (answer truncated)
      // escalate to gpt-4o with no timeout anywhere = 60s: 75.6s. The fallback path (15.6s +
      // 20s) is shorter, and gpt-4o is not escalated to again once tried.
      "support.policy warning SY056-deadline-too-short at 43:14: deadline 8s of route 'interactive' is shorter than its chain's worst case, 75.6s (llama-8b 3 attempts × 5s + 600ms backoff, then escalate to gpt-4o 60s)",
      // reasoning falls back to llama-8b, which lists chat, summarize, classify only.
      `support.policy warning SY058-missing-capability at 49:14: model 'llama-8b' lacks capability "reasoning", which route 'reasoning' matches on (its capabilities: chat, summarize, classify)`,
    ]);
  });

  it('validate each example on its own too (check FILE sees its imports)', async () => {
    for (const file of ['catalog.policy', 'embedded.policy', 'support.policy']) {
      const diags = await diagnose([path.join(GOOD, file)]);
      expect(
        diags.filter((d) => d.severity === 'error'),
        file,
      ).toEqual([]);
    }
  });
});

describe('bad fixtures', () => {
  for (const fixture of badFixtures()) {
    it(fixture, async () => {
      const diags = await diagnose([path.join(BAD, fixture)], undefined, BAD);
      const files = [...new Set([fixture, ...diags.map((d) => d.file)])];
      const expected = files
        .flatMap((file) => markersOf(path.join(BAD, file)).map((m) => `${file}: ${m}`))
        .sort();
      const actual = diags.map((d) => `${d.file}: ${at(d)}`).sort();
      expect(actual, diags.map((d) => `${d.file}: ${at(d)} ${d.message}`).join('\n')).toEqual(expected);
      for (const d of diags) {
        expect(d.severity, `${at(d)}: ${d.message}`).toBe(severityOf(d.code));
        expect(d.message).not.toMatch(/undefined|\[object/);
        expect(d.data.code).toBe(d.code);
      }
    });
  }

  it('cover every issue code with a fixture named after it', () => {
    const fixtures = new Set(badFixtures().map((f) => f.replace(/\.policy$/, '')));
    for (const code of Object.values(IssueCodes)) {
      expect(fixtures.has(code), `test/dsl/fixtures/bad/${code}.policy`).toBe(true);
      expect(
        markersOf(path.join(BAD, `${code}.policy`)).some((m) => m.startsWith(`${code} at`)),
        code,
      ).toBe(true);
    }
  });

  it('give every code a severity', () => {
    for (const code of Object.values(IssueCodes))
      expect(['error', 'warning']).toContain(IssueSeverities[code]);
    expect(new Set(Object.values(IssueCodes)).size).toBe(Object.values(IssueCodes).length);
  });
});
