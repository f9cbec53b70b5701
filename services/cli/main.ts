import { RnnstreamError } from '../../shared/errors/index.js';
import { EXIT } from './options.js';
import { buildProgram } from './program.js';

/**
 * Entry point of the `rnnstream` binary: known errors print one clear line and exit 2; commander
 * itself exits 1 for an invalid command line (./options.ts).
 */
try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof RnnstreamError) {
    process.stderr.write(`rnnstream: ${err.message}\n`);
    process.exitCode = EXIT.failed;
  } else {
    throw err;
  }
}
