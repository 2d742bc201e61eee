import { Hono, type Context } from 'hono';
import type { AuthVariables } from '../auth/authenticate.js';
import { signedImagePath, verifySignature, type SignatureReach, type SigningKey } from '../auth/signature.js';
import type { Deps } from '../deps.js';
import { authorityOn, checkOptionsAllowed, canSee } from '../auth/access.js';
import type { Authority, Principal } from '../auth/principal.js';
import { presentedCredential } from '../auth/credentials.js';
import { hashKey } from '../auth/keys.js';
import type { ImageRow } from '../db/schema.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { originsOf } from '../origins/service.js';
import { signingForm, type Spec } from '../spec/index.js';
import { baseUrl } from '../library/urls.js';
import { findRenamed } from '../library/public-ids.js';
import { nameOf } from '../library/urls.js';
import { findImage, parseOptions, planDelivery, renderVia, type DeliveryPlan } from '../core/index.js';
import { imageTag, tagHeaders } from '../core/tags.js';
import { rememberAnswer, type AnswerFacts } from './hit-memo.js';
import { imageResponse, notModified, varyOf } from './respond.js';
import { readClientHints } from './hints.js';
import { parseDeliveryPath, type DeliveryPath } from './path.js';

export function imgRoutes(deps: Deps) {
  const app = new Hono<{ Variables: AuthVariables }>();
  const origins = originsOf(deps);

  app.get('/img/*', async function deliverImage(c) {
    // Read before any row: a write from here on makes the hit memo's copy of this answer stale.
    const mark = deps.repos.changes();
    // The raw (still percent-encoded) path: a signature covers the bytes the client sent.
    const raw = new URL(c.req.url).pathname.slice('/img/'.length);
    const path = parseDeliveryPath(raw, c.req.query('explain') === '1');
    const principal = c.get('principal');
    const verdict = path.signature !== undefined ? checkSignature(deps, path.signature, path.signedPart) : undefined;
    const signedWith = verdict?.key;
    const signed: Authority = verdict ? { kind: 'signed', caller: principal, reach: verdict.reach } : principal;
    const spec = parseOptions(deps, path.options, path.ext);
    let found: ImageRow;
    if (path.origin) {
      found = await origins.image(path.origin.name, path.origin.path, (row) => checkBeforeFetch(deps, authorityOn(signed, row), spec, row), c.get('scope'));
    } else {
      const image = await findImage(deps, path.id);
      if (!image) return renamedOrMissing(c, deps, path, signed, raw);
      if (!canSee(signed, image)) throw new NotFoundError(`No image ${path.id}`, 'image_not_found');
      found = image;
    }
    const { image, mutable } = await origins.current(found);
    // From here on, a public-only signature on a private image is as if absent.
    const authority = authorityOn(signed, image);
    if (!canSee(authority, image)) throw new NotFoundError(`No image ${image.id}`, 'image_not_found');
    const hints = readClientHints((name) => c.req.header(name));
    const plan = await planDelivery(deps, { authority, image, spec, accept: c.req.header('accept'), hints, mutable });

    if (path.dryRun) {
      // The plan depends on who asked (signature, key, token): never a shared or stale copy.
      c.header('Cache-Control', 'private, no-store');
      return c.json({
        id: image.id,
        options: plan.canonical,
        signing: { string: path.signedPart, options: signingForm(spec) },
        output: { format: plan.format, width: plan.size.width, height: plan.size.height },
        cache: { status: await deps.cache.tierOf(plan.key), key: plan.key, etag: plan.etag },
        vary: varyOf(plan) ?? null,
      });
    }
    const facts = !path.origin && !mutable && c.req.method === 'GET' ? answerFacts(c, plan, mark, principal, signedWith) : undefined;
    const fresh = notModified(c, deps, plan);
    if (fresh) return facts ? rememberAnswer(fresh, facts) : fresh;
    const res = imageResponse(c, deps, plan, await renderVia(deps, plan, c.get('scope')));
    return facts ? rememberAnswer(res, facts) : res;
  });

  return app;
}

/**
 * What the hit memo (src/delivery/hit-memo.ts) needs to answer this request again, when it may:
 * the caller is anonymous or an API key (session and policy tokens have lifetimes and states of
 * their own, and always take the full path).
 */
function answerFacts(c: Context, plan: DeliveryPlan, mark: string, principal: Principal, signedWith: SigningKey | undefined): AnswerFacts | undefined {
  if (principal.kind !== 'anonymous' && principal.kind !== 'key') return undefined;
  const facts: AnswerFacts = {
    mark,
    renditionKey: plan.key,
    meta: { imageId: plan.image.id, options: plan.canonical, preset: plan.preset },
    etag: plan.etag,
    perSecond: plan.expiresAt !== undefined || plan.credentialExpiresAt !== undefined || plan.maxAge !== undefined,
  };
  if (plan.expiresAt !== undefined) facts.expiresAt = plan.expiresAt;
  if (signedWith) facts.signedWith = signedWith;
  if (principal.kind === 'key') {
    const secret = presentedCredential(c.req, { tokenInQuery: true, keyInQuery: true })?.secret;
    if (secret === undefined) return undefined;
    facts.apiKey = { id: principal.keyId, hash: hashKey(secret) };
  }
  return facts;
}

/**
 * No image by that name: a public id renamed away answers 301 to the image's current name (to
 * whoever may see it; a signed URL comes back re-signed for the new path, same options and expiry);
 * a mistyped option in `/img/{x}/{id}` answers its parse error; anything else is a 404.
 */
async function renamedOrMissing(c: Context, deps: Deps, path: DeliveryPath, asked: Authority, raw: string): Promise<Response> {
  const renamed = await findRenamed(deps, path.id);
  const authority = renamed ? authorityOn(asked, renamed) : asked;
  const signed = authority.kind === 'signed';
  if (renamed && canSee(authority, renamed)) {
    const name = nameOf(renamed);
    // Re-signed in the form it came with: a public-only link stays public-only under its new name.
    const target = signed
      ? signedImagePath(name, path.options, deps.secrets.signingKeys[0], { ext: path.ext, reach: authority.reach })
      : `/img/${path.options ? `${path.options}/` : ''}${name}${path.ext !== undefined ? `.${path.ext}` : ''}`;
    const url = new URL(c.req.url);
    return movedPermanently(
      `${baseUrl(c, deps)}${target}${raw.endsWith('.json') ? '.json' : ''}${url.search}`,
      renamed.visibility === 'public' && !signed,
      tagHeaders(deps.config, imageTag(renamed.id)),
    );
  }
  if (path.optionsTypo !== undefined) parseOptions(deps, path.optionsTypo);
  throw new NotFoundError(`No image ${path.id}`, 'image_not_found');
}

/**
 * A renamed public id's redirect: cached a day by anyone when the image is public, else by nobody.
 * Tagged with the image, so the purge of a later rename (back to this name, say) reaches it too.
 */
export function movedPermanently(location: string, shared: boolean, tags: Record<string, string> = {}): Response {
  return new Response(null, { status: 301, headers: { Location: location, 'Cache-Control': shared ? 'public, max-age=86400' : 'private, no-store', ...tags } });
}

/** The access checks planDelivery makes, run on the row a remote original would get, before it is fetched. */
function checkBeforeFetch(deps: Deps, authority: Authority, spec: Spec, row: Pick<ImageRow, 'id' | 'ownerId' | 'visibility'>) {
  if (!canSee(authority, row)) throw new NotFoundError(`No image ${row.id}`, 'image_not_found');
  checkOptionsAllowed(authority, spec, deps.config, row);
}

/**
 * Signatures already verified, per process: a hit on a signed URL then costs a Map lookup, not an
 * HMAC (issue 14). A verdict is a pure function of the signature, the signed part and the secret
 * of its kid, so each one keeps the key it was checked with and holds only while that kid still
 * has that very secret (a changed SIGNING_KEYS drops it). Only valid signatures are remembered
 * (forged ones cannot fill it); the bound is a backstop.
 */
const signatureVerdicts = new Map<string, SignatureVerdict>();
const SIGNATURE_VERDICTS_MAX = 10_000;

/** The signing key that verified a signature, and which of its two forms it was (src/auth/signature.ts). */
interface SignatureVerdict {
  key: SigningKey;
  reach: SignatureReach;
}

/** The verdict on a valid `signature`, or a 403. */
function checkSignature(deps: Deps, signature: string, signedPart: string): SignatureVerdict {
  const keys = deps.secrets.signingKeys;
  const id = `${signature}\n${signedPart}`;
  const known = signatureVerdicts.get(id);
  if (known) {
    const key = keys.find((k) => k.kid === known.key.kid);
    if (key && key.secret === known.key.secret) return known;
    signatureVerdicts.delete(id);
  }
  const check = verifySignature(signature, signedPart, keys);
  if (check.ok) {
    if (signatureVerdicts.size >= SIGNATURE_VERDICTS_MAX) signatureVerdicts.clear();
    const key = keys.find((k) => k.kid === check.kid)!;
    const verdict: SignatureVerdict = { key: { kid: key.kid, secret: key.secret }, reach: check.reach };
    signatureVerdicts.set(id, verdict);
    return verdict;
  }
  // Development only: show the string the server signed and which part differs, so a developer
  // can compare with their signer. Never the expected MAC (that would sign anything for anyone),
  // and nothing at all in production.
  const debug = deps.config.dev
    ? { signingString: signedPart, reason: check.reason, kid: check.kid, knownKids: deps.secrets.signingKeys.map((k) => k.kid) }
    : {};
  throw new ForbiddenError('Invalid signature', 'bad_signature', debug);
}
