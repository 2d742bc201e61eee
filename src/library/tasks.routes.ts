import { actingUserId } from '../auth/principal.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { createRoute, router, z } from '../http.js';
import { limitApi } from '../auth/limits.js';
import { requireCaller, seesWholeLibrary } from '../auth/access.js';
import { errors, taskSchema } from './schemas.js';
import { taskView } from './tasks.js';

/** `/tasks/{id}`, and `/tasks/{id}/status`, the path the roadmap.sh image service names first. */
const getTask = (path: '/tasks/{id}' | '/tasks/{id}/status') =>
  createRoute({
    method: 'get',
    path,
    tags: ['tasks'],
    summary:
      path === '/tasks/{id}'
        ? 'State of a background task: queued, running, done (with its result) or failed (with its error)'
        : 'The same as GET /tasks/{id} (the path roadmap.sh clients use)',
    request: {
      params: z.object({
        id: z
          .string()
          .regex(/^task_[A-Za-z0-9_-]{1,32}$/, 'a task id')
          .openapi({ param: { name: 'id', in: 'path' } }),
      }),
    },
    responses: {
      200: { description: 'The task', content: { 'application/json': { schema: taskSchema } } },
      ...errors(400, 401, 404),
    },
  });

export function tasksRoutes(deps: Deps) {
  // The management API's budget, on every route of this family (src/auth/limits.ts).
  const app = router({ guards: [limitApi(deps)] });
  for (const path of ['/tasks/{id}', '/tasks/{id}/status'] as const)
    app.openapi(getTask(path), async function taskStatus(c) {
      const principal = requireCaller(c.get('principal'));
      const { id } = c.req.valid('param');
      const row = await deps.repos.tasks.byId(id);
      // Someone else's task is as unknown as a missing one.
      if (!row || !(seesWholeLibrary(principal) || (row.ownerId !== null && row.ownerId === actingUserId(principal)))) {
        throw new NotFoundError(`No task ${id}`, 'task_not_found');
      }
      c.header('Cache-Control', 'no-store');
      return c.json(taskView(row), 200);
    });
  return app;
}
