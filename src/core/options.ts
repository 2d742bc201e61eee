import type { Deps } from '../deps.js';
import { parseSpec } from '../spec/index.js';

/** The spec limits of this app (MAX_OUTPUT_DIM and the rest), parsed once with the config. */
export function specLimits(deps: Pick<Deps, 'config'>) {
  return deps.config.limits;
}

/** URL options (and an extension) as a typed spec, under this app's limits. */
export function parseOptions(deps: Pick<Deps, 'config'>, options: string, ext?: string) {
  return parseSpec(options, ext, specLimits(deps));
}
