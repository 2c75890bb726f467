/** The front door's settings in switchyard.yaml (`http:`), and the size and port parsers of `serve`. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../worker/config.js';
import { parsePort, parseSize } from '../../cli/commands/serve.js';

function withFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-config-'));
  fs.writeFileSync(path.join(dir, 'switchyard.yaml'), text);
  return dir;
}

describe('switchyard.yaml http:', () => {
  it('reads port, host, maxBody and relayUrl', () => {
    const cwd = withFile(
      'http:\n  port: 9090\n  host: 0.0.0.0\n  maxBody: 4MiB\n  relayUrl: http://door.internal:9090\n',
    );
    expect(loadConfig({ cwd, env: {} }).http).toEqual({
      port: 9090,
      host: '0.0.0.0',
      maxBody: '4MiB',
      relayUrl: 'http://door.internal:9090',
    });
  });

  it('names an unknown key under http:', () => {
    const cwd = withFile('http:\n  pot: 9090\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      /unknown key 'http\.pot' \(did you mean 'http\.port'\?\)/,
    );
  });
});

describe('serve flags', () => {
  it('parses sizes and ports, refusing nonsense with a usage error', () => {
    expect(parseSize('16MiB')).toBe(16 * 1024 * 1024);
    expect(parseSize('512KiB')).toBe(512 * 1024);
    expect(parseSize('1000000')).toBe(1_000_000);
    expect(() => parseSize('lots')).toThrow(/not a size/);
    expect(parsePort('0', '--port')).toBe(0);
    expect(() => parsePort('70000', '--port')).toThrow(/must be a port number/);
  });
});
