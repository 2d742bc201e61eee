import { authenticate } from './auth/authenticate.js';
import { authRoutes } from './auth/auth.routes.js';
import { keysRoutes } from './auth/keys.routes.js';
import { signRoutes } from './delivery/sign.routes.js';
import { API_CORS, cors, IMAGE_CORS } from './cors.js';
import type { Deps } from './deps.js';
import { imgRoutes } from './delivery/img.routes.js';
import { docsRoutes } from './docs/docs.routes.js';
import { openapiDocument } from './docs/openapi.js';
import { infoRoutes } from './delivery/info.routes.js';
import { errorResponse, router } from './http.js';
import { imagesRoutes } from './library/images.routes.js';
import { uploadsRoutes } from './library/uploads.routes.js';
import { presetsRoutes } from './library/presets.routes.js';
import { tasksRoutes } from './library/tasks.routes.js';
import { observeRequests } from './ops/observe.js';
import { opsRoutes } from './ops/ops.routes.js';
import { FLASK_PATHS, flaskErrors, legacyKeyFromPath } from './random/flask.js';
import { randomRoutes } from './random/random.routes.js';
import { uiRoutes } from './ui/ui.routes.js';

/**
 * The whole HTTP surface, built from its dependencies. Production (`server.ts`) and the
 * tests call this same factory; only `server.ts` binds a port.
 */
export function createApp(deps: Deps) {
  const app = router();

  // First, so the request id, the log line and the metrics cover every response, errors included.
  app.use('*', observeRequests(deps));
  // Probes and metrics answer before authentication: a load balancer carries no key.
  app.route('/', opsRoutes(deps));
  app.route('/', uiRoutes(deps)); // static dashboard files: no credentials, no rate limit

  // CORS before credentials (a preflight carries none and must be neither refused nor counted),
  // per family, the first that matches deciding: images (CORS_IMAGE_ORIGINS), then the catch-all
  // for everything after it, the JSON API, /openapi.json and /docs (CORS_ORIGINS).
  const imageCors = cors(deps.config.cors.images, IMAGE_CORS);
  // The Flask API's three routes answer like its flask-cors did: all three, not only the image.
  for (const path of ['/img/*', '/random', '/random/*', '/info/*', ...FLASK_PATHS]) app.use(path, imageCors);
  app.use('*', cors(deps.config.cors.api, API_CORS));

  // Credentials, mounted per route family (the first that matches decides): image delivery also
  // takes ?token= and ?key= (a plain <img src> cannot send headers); the legacy random route carries
  // its key in the path; everything else, the management API included, refuses both in the URL.
  const deliveryAuth = authenticate(deps, { tokenInQuery: true, keyInQuery: true });
  for (const path of ['/img/*', '/random', '/random/*']) app.use(path, deliveryAuth);
  // An image's facts (/info) are fetched beside its <img>, with the same ?key=.
  app.use('/info/*', authenticate(deps, { keyInQuery: true }));
  // The Flask API's routes (/random-image, /update-images, /update-key) carry their key in the
  // path, and answer errors in that service's shape ({"error": "Unauthorized"}), on them only.
  const legacyAuth = authenticate(deps, { keyFromPath: legacyKeyFromPath });
  for (const path of FLASK_PATHS) app.use(path, flaskErrors(), legacyAuth);
  // The management API's rate limit is mounted by its route families (router({ guards }), src/auth/limits.ts).
  app.use('*', authenticate(deps));
  app.route('/', imgRoutes(deps));
  app.route('/', infoRoutes(deps));
  app.route('/', randomRoutes(deps));
  app.route('/', authRoutes(deps));
  app.route('/', keysRoutes(deps));
  app.route('/', signRoutes(deps));
  app.route('/', imagesRoutes(deps));
  app.route('/', uploadsRoutes(deps));
  app.route('/', presetsRoutes(deps));
  app.route('/', tasksRoutes(deps));

  app.route('/', docsRoutes(deps, openapiDocument(app, deps.config)));

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => errorResponse(deps, err, c.req.method, c.req.path));
  return app;
}
