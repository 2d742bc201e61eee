import type { Deps } from '../deps.js';
import { router } from '../http.js';

// Placeholder: routes are added by the issue that owns this module.
export function tasksRoutes(_deps: Deps) {
  return router();
}
