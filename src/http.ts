import { OpenAPIHono } from '@hono/zod-openapi';
import type { AuthVariables } from './auth/authenticate.js';
import { BadRequestError } from './errors.js';

export type Env = { Variables: AuthVariables };

/**
 * A router whose routes are declared with zod schemas (`createRoute`), so `/openapi.json` is
 * generated from the same definitions that validate the requests. Validation failures become
 * the one JSON error shape (400), naming the fields.
 */
export function router() {
  return new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        throw new BadRequestError(
          `Invalid request: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
          { issues },
          'validation_failed',
        );
      }
    },
  });
}

export { createRoute, z } from '@hono/zod-openapi';

/** The JSON error shape, for route definitions' error responses. */
export const errorSchemaRef = { $ref: '#/components/schemas/Error' } as const;
