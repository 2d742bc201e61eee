import type { Deps } from '../deps.js';
import { router } from '../http.js';

export function opsRoutes(_deps: Deps) {
  const app = router();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  return app;
}
