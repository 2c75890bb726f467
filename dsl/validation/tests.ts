/**
 * Tests (docs/language.md §7): one `request` and one `expect` (with at least one part unless
 * `reject` or `fail`), each request field once, one `given` per budget and per model, HTTP status
 * codes. Request fields and values are checked with the conditions (conditions.ts); names in
 * duplicates (names.ts).
 */
import type { ValidationChecks } from 'langium';
import {
  type RequestField,
  type SwitchyardAstType,
  type Test,
  isExpect,
  isGivenAnswers,
  isGivenFails,
  isGivenSpent,
  isTestRequest,
} from '../generated/ast.js';
import { fieldName } from './condition-facts.js';
import { IssueCodes } from './issue-codes.js';
import { hasSyntaxError } from '../parser/syntax-state.js';
import { ITEM_WORDS, lineOf, missing, reportRepeats } from './structure.js';

function testLabel(test: Test): string {
  return `test "${test.name}"`;
}

export function testChecks(): ValidationChecks<SwitchyardAstType> {
  return {
    Test: (test, accept) => {
      const label = testLabel(test);
      reportRepeats(
        test.items,
        label,
        accept,
        (item) =>
          isGivenSpent(item)
            ? `spent ${item.budget?.$refText}`
            : isGivenFails(item) || isGivenAnswers(item)
              ? `model ${item.model?.$refText}`
              : item.$type,
        (item, first) =>
          isGivenSpent(item)
            ? `budget '${item.budget?.$refText}' is already given in ${label} (line ${lineOf(first)})`
            : isGivenFails(item) || isGivenAnswers(item)
              ? `model '${item.model?.$refText}' already has a given in ${label} (line ${lineOf(first)})`
              : `${ITEM_WORDS[item.$type]} may appear once in ${label} (first at line ${lineOf(first)})`,
      );
      if (!test.items.some(isTestRequest)) missing(accept, test, `${label} needs a request { … }`, 'request');
      if (!test.items.some(isExpect)) missing(accept, test, `${label} needs an expect`, 'expect');
    },
    TestRequest: (request, accept) => {
      if (
        !request.fields.some((f) => f.field && fieldName(f.field) === 'capability') &&
        !hasSyntaxError(request)
      ) {
        missing(
          accept,
          request,
          'a test request needs a capability, such as capability "chat"',
          'capability',
          'request',
        );
      }
      const seen = new Map<string, RequestField>();
      for (const field of request.fields) {
        if (!field.field) continue;
        const name = fieldName(field.field);
        const first = seen.get(name);
        if (!first) {
          seen.set(name, field);
          continue;
        }
        accept('error', `${name} may appear once in a request (first at line ${lineOf(first)})`, {
          node: field,
          property: 'field',
          code: IssueCodes.RepeatedItem,
          data: { code: IssueCodes.RepeatedItem, item: name, firstLine: lineOf(first) },
        });
      }
    },
    Expect: (expect, accept) => {
      if (expect.reject || expect.fail || expect.route || expect.model || expect.attempts !== undefined)
        return;
      if (hasSyntaxError(expect.$container)) return;
      accept('error', 'expect needs at least one of route NAME, model NAME, attempts N (or reject, fail)', {
        node: expect,
        keyword: 'expect',
        code: IssueCodes.EmptyExpect,
        data: { code: IssueCodes.EmptyExpect },
      });
    },
    GivenFails: (given, accept) => {
      if (typeof given.status !== 'number') return;
      if (given.status < 100 || given.status > 599) {
        accept('error', `status ${given.status} is not an HTTP status code (100 to 599)`, {
          node: given,
          property: 'status',
          code: IssueCodes.InvalidStatusCode,
          data: { code: IssueCodes.InvalidStatusCode, status: given.status },
        });
      }
    },
  };
}
