import type { Deps } from '../deps.js';
import { visibleImage } from '../core/index.js';
import { BadRequestError } from '../errors.js';
import { createRoute, errorSchemaRef, router, z } from '../http.js';
import { limitApi } from '../auth/limits.js';
import { baseUrl } from '../library/urls.js';
import { registry, type OutputFormat } from '../spec/index.js';
import { isImageKey } from '../spec/public-id.js';
import { requireCaller } from '../auth/access.js';
import { keyVersion } from '../auth/keys.js';
import type { PolicyClaims, TokenIssuer } from '../auth/principal.js';
import { MAX_SIGNED_LIFETIME, signDelivery } from './sign.js';
import { issuePolicyToken, issuerSubject } from '../auth/tokens.js';

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [code, { description: 'Error', content: { 'application/json': { schema: errorSchemaRef } } }]));

const FORMAT_NAMES = ['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif'] as const;
const imageId = z.string().refine(isImageKey, 'an image id or public id').openapi({ description: 'A random id or a public id (blog/2024/cat)' });
// By the URL grammar's own t_ rule, so a token never names a preset no URL could use.
const presetName = z
  .string()
  .refine((name) => {
    try {
      registry.t.parse(name, { maxOutputDim: 0 }); // t_ has no size to limit
      return true;
    } catch {
      return false;
    }
  }, 'a preset name of 1..64 characters [a-z0-9_-]')
  .openapi({ description: 'A preset name (t_{name}): 1..64 characters [a-z0-9_-]', example: 'card' });

const SignRequest = z
  .object({
    id: imageId.optional(),
    ids: z.array(imageId).min(1).max(1000).optional().openapi({ description: 'Policy tokens only: several images' }),
    options: z.string().max(2048).optional().openapi({
      description:
        'URL options to sign, e.g. w_300,f_webp ("" = the original). An exp_ among them follows the rules of expiresIn (at most a year ahead, not in the past, never past the session that signs; with expiresIn both must name the same second)',
      example: 'w_300,f_webp',
    }),
    ext: z.enum(FORMAT_NAMES).optional().openapi({ description: 'Extension for the signed URL (shorthand for f_)' }),
    policy: z
      .object({
        width: z.object({ min: z.number().int().min(1).optional(), max: z.number().int().min(1).optional() }).optional(),
        formats: z.array(z.enum(FORMAT_NAMES)).min(1).optional(),
        presets: z.array(presetName).min(1).max(100).optional(),
      })
      .strict()
      .optional()
      .openapi({ description: 'Ask for a policy token instead of one signed URL: it covers a whole srcset' }),
    expiresIn: z.number().int().min(1).max(MAX_SIGNED_LIFETIME).optional().openapi({
      description:
        'Seconds. URLs without it (or exp_) never expire, except for a private image (1 h); URLs and tokens never outlive the session that mints them (a URL without expiry for a public image aside); tokens default to 3600',
      example: 3600,
    }),
  })
  .strict()
  .openapi('SignRequest');

const SignResponse = z
  .object({
    url: z.string().optional(),
    path: z.string().optional(),
    token: z.string().optional(),
    expiresAt: z.number().int().nullable(),
  })
  .openapi('SignResponse');

const sign = createRoute({
  method: 'post',
  path: '/sign',
  tags: ['auth'],
  summary: 'Sign a delivery URL ({id, options}) or mint a policy token ({id|ids, policy}) for a frontend',
  description:
    'A URL for an image that is public now is signed public-only: it works while the image stays public, and stops (404, as for a stranger) when its owner makes it private. A URL for a private image (its owner and admins only) is signed in full and expires.',
  request: { body: { content: { 'application/json': { schema: SignRequest } }, required: true } },
  responses: {
    200: { description: '`{url}` for options, `{token}` for a policy', content: { 'application/json': { schema: SignResponse } } },
    ...errors(400, 401, 403, 404, 429),
  },
});

export function signRoutes(deps: Deps) {
  // The management API's budget, on every route of this family (src/auth/limits.ts).
  const app = router({ guards: [limitApi(deps)] });

  app.openapi(sign, async (c) => {
    // Signing is delivering by proxy: the caller needs delivery rights and must see each image.
    const p = requireCaller(c.get('principal'), 'deliver');
    const body = c.req.valid('json');

    if (body.policy) {
      if (body.options !== undefined || body.ext !== undefined) throw new BadRequestError('Send either options (a signed URL) or policy (a token), not both');
      // The token names images by their random ids (the claim checked against the row), so a later
      // rename of a public id neither breaks the token nor hands it to the image that takes the name.
      const named = body.ids ?? (body.id ? [body.id] : undefined);
      let ids: string[] | undefined;
      if (named) {
        ids = [];
        for (const id of named) ids.push((await visibleImage(deps, id, p)).id);
      }
      if (!ids && p.userId === null) throw new BadRequestError('This key has no owner: name the images with id or ids', { field: 'id' });
      const { width, formats, presets } = body.policy;
      if (width?.min !== undefined && width.max !== undefined && width.min > width.max)
        throw new BadRequestError('policy.width.min must not exceed policy.width.max', { field: 'policy.width' });
      const maxDim = deps.config.limits.maxOutputDim;
      if ((width?.min ?? 0) > maxDim || (width?.max ?? 0) > maxDim)
        throw new BadRequestError(`policy.width must be within 1..${maxDim} (MAX_OUTPUT_DIM)`, { field: 'policy.width' });
      const policy: PolicyClaims = {
        ...(ids ? { ids } : { owner: p.userId! }),
        ...(presets ? { presets: [...new Set(presets)] } : {}),
        ...(width ? { width } : {}),
        ...(formats ? { formats: [...new Set(formats.map((f): OutputFormat => (f === 'jpg' ? 'jpeg' : f)))] } : {}),
      };
      // The token records the key and the version of its secret: revoking or rotating the key ends it.
      const issuer: TokenIssuer =
        p.kind === 'key'
          ? { kind: 'key', keyId: p.keyId, version: p.version ?? keyVersion((await deps.keys.get(p.keyId))!.hash) }
          : { kind: 'user', userId: p.userId };
      // A token minted by a session never outlives that session.
      const sessionLeft = p.kind === 'user' && p.expiresAt !== undefined ? Math.max(1, p.expiresAt - deps.clock()) : Infinity;
      const { token, expiresAt } = await issuePolicyToken(deps, policy, Math.min(body.expiresIn ?? 3600, sessionLeft), issuer);
      deps.log.info({ by: issuerSubject(issuer), ids: ids?.length ?? 0, expiresAt }, 'policy token issued');
      return c.json({ token, expiresAt }, 200);
    }

    if (!body.id || body.ids) throw new BadRequestError('A signed URL is for one image: send id (ids is for policy tokens)', { field: 'id' });
    const { path, expiresAt } = await signDelivery(deps, p, { id: body.id, options: body.options, ext: body.ext, expiresIn: body.expiresIn });
    return c.json({ url: `${baseUrl(c, deps)}${path}`, path, expiresAt }, 200);
  });

  return app;
}
