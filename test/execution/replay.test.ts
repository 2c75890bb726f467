/**
 * Requests started before a change must finish after it: histories recorded by an earlier version
 * of the request workflow (histories/README.md) replay with today's code without non-determinism.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { replay } from '../support/temporal.js';

function recorded(file: string) {
  const json = zlib.gunzipSync(fs.readFileSync(path.join(import.meta.dirname, 'histories', file)));
  const { histories } = JSON.parse(json.toString('utf8')) as {
    histories: { workflowId: string; history: string }[];
  };
  return histories.map((h) => ({
    workflowId: h.workflowId,
    history: temporal.api.history.v1.History.decode(Buffer.from(h.history, 'base64')),
  }));
}

describe('histories recorded by earlier versions', () => {
  it('replay with the shared driver (recorded before it, at 2425f03)', async () => {
    const histories = recorded('before-driver.json.gz');
    expect(histories).toHaveLength(36);
    expect(await replay(histories)).toEqual([]);
  });
});
