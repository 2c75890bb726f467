/**
 * What a command returns; `usage` means bad command-line words (exit 2). Its own module so that
 * cli/main.ts (which dispatches) and the commands (which return it) do not import each other.
 */
export interface CommandResult {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  usage?: string;
}
