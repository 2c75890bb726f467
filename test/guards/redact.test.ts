/** PII redaction (`before` guards' `redact`): true positives, and look-alikes that must stay. */
import { describe, expect, it } from 'vitest';
import {
  PII_KINDS,
  findPii,
  ibanValid,
  luhnValid,
  redactMessages,
  redactText,
} from '../../activities/guards/redact.js';
import type { PiiKind } from '../../plan/types.js';

const redact = (text: string, kinds: PiiKind[] = [...PII_KINDS]): string => redactText(text, kinds).text;

describe('checks', () => {
  it('Luhn', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('41111x1111111111')).toBe(false);
  });

  it('IBAN mod-97 and country length', () => {
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('DE89 3704 0044 0532 0130 01')).toBe(false);
    expect(ibanValid('GB82WEST1234569876543')).toBe(false); // one character short
    expect(ibanValid('XX89370400440532013000')).toBe(false); // no such country
  });
});

describe('true positives', () => {
  it.each([
    ['write to jane.doe@example.com today', 'write to [EMAIL] today'],
    ['a+tag@sub.example.co.uk.', '[EMAIL].'],
    ['Contact: JOHN_SMITH@Example.ORG', 'Contact: [EMAIL]'],
    ['<ops-team@corp-mail.example.io>', '<[EMAIL]>'],
  ])('email: %s', (input, expected) => {
    expect(redact(input, ['email'])).toBe(expected);
  });

  it.each([
    ['call +1 202-555-0143 now', 'call [PHONE] now'],
    ['+44 20 7946 0958', '[PHONE]'],
    ['+49 (0)30 1234567', '[PHONE]'],
    ['+33612345678', '[PHONE]'],
    ['(202) 555-0143', '[PHONE]'],
    ['phone: 202-555-0143.', 'phone: [PHONE].'],
    ['202.555.0143', '[PHONE]'],
    ['1-800-555-0199', '[PHONE]'],
    ['020 7946 0958', '[PHONE]'],
    ['06 12 34 56 78', '[PHONE]'],
  ])('phone: %s', (input, expected) => {
    expect(redact(input, ['phone'])).toBe(expected);
  });

  it.each([
    ['card 4111 1111 1111 1111 exp 12/29', 'card [CREDIT-CARD] exp 12/29'],
    ['4111-1111-1111-1111', '[CREDIT-CARD]'],
    ['5500000000000004', '[CREDIT-CARD]'],
    ['amex 378282246310005', 'amex [CREDIT-CARD]'],
    ['6011111111111117,', '[CREDIT-CARD],'],
    ['2221000000000009', '[CREDIT-CARD]'],
    ['3782 822463 10005', '[CREDIT-CARD]'],
  ])('credit card: %s', (input, expected) => {
    expect(redact(input, ['credit-card'])).toBe(expected);
  });

  it.each([
    ['IBAN: DE89 3704 0044 0532 0130 00, thanks', 'IBAN: [IBAN], thanks'],
    ['GB82WEST12345698765432', '[IBAN]'],
    ['pay FR14 2004 1010 0505 0001 3M02 606 TODAY', 'pay [IBAN] TODAY'],
    ['NL91ABNA0417164300.', '[IBAN].'],
    ['DE89 3704 0044 0532 0130 00 AB', '[IBAN] AB'],
  ])('iban: %s', (input, expected) => {
    expect(redact(input, ['iban'])).toBe(expected);
  });

  it.each([
    ['from 192.168.1.10 at noon', 'from [IP-ADDRESS] at noon'],
    ['dns 8.8.8.8.', 'dns [IP-ADDRESS].'],
    ['host 2001:db8::8a2e:370:7334 down', 'host [IP-ADDRESS] down'],
    ['loopback ::1', 'loopback [IP-ADDRESS]'],
    ['fe80::1ff:fe23:4567:890a', '[IP-ADDRESS]'],
    ['mapped ::ffff:192.0.2.128', 'mapped [IP-ADDRESS]'],
    ['[2001:db8:85a3:0:0:8a2e:370:7334]:443', '[[IP-ADDRESS]]:443'],
  ])('ip address: %s', (input, expected) => {
    expect(redact(input, ['ip-address'])).toBe(expected);
  });

  it('redacts every kind in one text, each with its own mark', () => {
    const text =
      'Jane (jane@example.com, +1 202-555-0143) paid with 4111 1111 1111 1111 from DE89370400440532013000 at 10.0.0.7';
    expect(redact(text)).toBe('Jane ([EMAIL], [PHONE]) paid with [CREDIT-CARD] from [IBAN] at [IP-ADDRESS]');
    expect(redactText(text).counts).toEqual({
      email: 1,
      phone: 1,
      'credit-card': 1,
      iban: 1,
      'ip-address': 1,
    });
  });

  it('only the kinds asked for', () => {
    const text = 'jane@example.com 192.168.0.1';
    expect(redact(text, ['ip-address'])).toBe('jane@example.com [IP-ADDRESS]');
    expect(redact(text, [])).toBe(text);
  });

  it('redactMessages rewrites content only, and leaves its input alone', () => {
    const messages = [
      { role: 'system' as const, content: 'be nice' },
      { role: 'user' as const, content: 'I am bob@example.com, call 202-555-0143' },
    ];
    const out = redactMessages(messages, ['email', 'phone']);
    expect(out.messages).toEqual([
      { role: 'system', content: 'be nice' },
      { role: 'user', content: 'I am [EMAIL], call [PHONE]' },
    ]);
    expect(out.counts).toEqual({ email: 1, phone: 1 });
    expect(messages[1]!.content).toContain('bob@example.com');
  });
});

describe('false positives: left as they are', () => {
  it.each([
    // version numbers
    'upgrade to v1.2.3.4 now',
    'version 1.2.3.4',
    'release 2.10.4 is out',
    'node 20.19.43',
    'Windows 10.0.19041.1',
    // dates and times
    'due 2024-01-15',
    'on 15.01.2024',
    'on 01-02-2024',
    'at 2024/01/15 12:30:45',
    'stamp 2026-11-27T10:30:00Z',
    // order ids and other numbers
    'order ORD-2024-001234',
    'order #123456789',
    'invoice INV-4111111111111111',
    'PO 20240115-0042',
    'call 5551234',
    'id 1234567890123',
    // invalid Luhn / IBAN checksums and lengths
    'card 4111 1111 1111 1112',
    'card 5500 0000 0000 0005',
    'groups 4111 11 1111 1111 11', // Luhn-valid digits, but not grouped like a card
    'IBAN DE89 3704 0044 0532 0130 01',
    'IBAN GB82WEST1234569876543',
    // code and hardware identifiers
    'use std::vector and A::B',
    'mac 00:1A:2B:3C:4D:5E',
    'addr 999.1.1.1',
    'pkg@1.2.3 and @decorator',
    'scores 3.14 2.71',
  ])('%s', (text) => {
    expect(findPii(text)).toEqual([]);
    expect(redact(text)).toBe(text);
  });
});

describe('robustness', () => {
  it('stays linear on long adversarial input', () => {
    const inputs = [
      '1 '.repeat(50_000),
      '1-'.repeat(50_000),
      ':'.repeat(100_000) + '1',
      'a.'.repeat(50_000) + '@',
      'a@'.repeat(50_000),
      `x@${'a.'.repeat(50_000)}`,
      'DE'.repeat(50_000),
      '1.'.repeat(50_000),
    ];
    const started = Date.now();
    for (const input of inputs) redactText(input);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
