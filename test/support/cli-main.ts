/** The `switchyard` command from source, for tests that spawn it: `node --import tsx test/support/cli-main.ts …`. */
import { main } from '../../cli/main.js';

process.exitCode = await main(process.argv.slice(2));
