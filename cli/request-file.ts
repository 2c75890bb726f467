import * as fs from 'node:fs';
import { validateRequest } from '../client/validate-request.js';
import type { InferenceRequest } from '../plan/types.js';
import { CliError } from './args.js';

/**
 * Reads a request (plan/request.schema.json) from a file or `-` (standard input); one-line errors
 * with codes.
 */
export function readRequestFile(file: string): InferenceRequest {
  let text: string;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      'E-REQUEST-FILE',
      code === 'ENOENT'
        ? `no such file: ${file}`
        : code === 'EISDIR'
          ? `${file} is a directory, not a request`
          : `cannot read ${file}: ${code ?? 'error'}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      'E-REQUEST-JSON',
      `${file === '-' ? 'standard input' : file} is not valid JSON: ${(error as Error).message}`,
    );
  }
  return validateRequest(json);
}
