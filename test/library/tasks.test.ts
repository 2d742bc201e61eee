import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RenditionCache } from '../../src/cache/types.js';
import { tasks } from '../../src/db/schema.js';
import { OverloadedError } from '../../src/errors.js';
import { resumeTasks, TaskRunner, taskRunner } from '../../src/library/tasks.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth, makeUser, upload } from './helpers.js';

let t: TestApp;
beforeEach(async () => {
  t = await testApp();
});
afterEach(async () => {
  await taskRunner(t.deps).idle();
  await t.cleanup();
});

/**
 * The real cache, except that its next renders meet a full render queue (503) or a render
 * deadline (504), as they would on a server busy with /img traffic. Unlisted calls go through.
 */
function busyFor(...refusals: OverloadedError[]) {
  const real = t.deps.cache;
  t.deps.cache = new Proxy(real, {
    get(target, prop) {
      if (prop === 'fetch') {
        return (...args: Parameters<RenditionCache['fetch']>) => {
          const refusal = refusals.shift();
          return refusal ? Promise.reject(refusal) : target.fetch(...args);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
const full = () => new OverloadedError('Render queue is full', 1, 503);
const tooSlow = () => new OverloadedError('Rendering took longer than allowed', 1, 504);

const transformAsync = (key: string, imageId: string, body: unknown) =>
  t.request(`/images/${imageId}/transform?async=1`, { method: 'POST', headers: auth(key, { 'Content-Type': 'application/json' }), body: JSON.stringify(body) });

const taskRow = (id: string) => t.deps.db.select().from(tasks).where(eq(tasks.id, id)).get()!;
const keyIdOf = async (secret: string) => (await t.deps.keys.verify(secret))!.id;

describe('a task that meets a busy server', () => {
  it('is queued again with a back-off and then completes', async () => {
    const id = await t.seed('dune-2mp.jpg');
    busyFor(tooSlow());
    const res = await transformAsync(t.adminKey, id, { resize: { width: 120 } });
    expect(res.status).toBe(202);
    const { id: taskId } = (await res.json()) as any;
    await taskRunner(t.deps).idle();
    const done = (await (await t.request(`/tasks/${taskId}`, { headers: auth(t.adminKey) })).json()) as any;
    expect(done).toMatchObject({ state: 'done', error: null, result: { width: 120 } });
    expect(JSON.parse(taskRow(taskId).input)).toMatchObject({ attempts: 1 });
  });

  it('fails with the overload error after its fifth busy attempt', async () => {
    const id = await t.seed('dune-2mp.jpg');
    busyFor(full());
    // Four busy attempts already behind it (recorded in its input, as a previous process would have left it).
    const input = { imageId: id, options: 'w_64', base: 'http://localhost', caller: { keyId: await keyIdOf(t.adminKey) }, attempts: 4 };
    t.deps.db
      .insert(tasks)
      .values({ id: 'task_tired', kind: 'transform', state: 'queued', input: JSON.stringify(input) })
      .run();
    expect(await resumeTasks(t.deps)).toBe(1);
    await taskRunner(t.deps).idle();
    const failed = (await (await t.request('/tasks/task_tired', { headers: auth(t.adminKey) })).json()) as any;
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'overloaded', attempts: 5 } });
  });
});

describe('who a task runs as', () => {
  it('stores only a reference to the caller, not their rights', async () => {
    const alice = makeUser(t, 'alice');
    const { body } = await upload(t, alice.key, 'dune-2mp.jpg');
    const { id: taskId } = (await (await transformAsync(alice.key, body.id, { resize: { width: 80 } })).json()) as any;
    await taskRunner(t.deps).idle();
    const input = JSON.parse(taskRow(taskId).input);
    expect(input.caller).toEqual({ keyId: await keyIdOf(alice.key) });
    expect(input).not.toHaveProperty('principal');
    expect(JSON.stringify(input)).not.toMatch(/scopes|admin/);
  });

  it('a key revoked before the task runs fails the task with invalid_key', async () => {
    const alice = makeUser(t, 'alice');
    const { body } = await upload(t, alice.key, 'dune-2mp.jpg');
    const aliceKeyId = await keyIdOf(alice.key);
    // The first attempt meets a busy server, so the task waits to run again ...
    busyFor(full());
    const { id: taskId } = (await (await transformAsync(alice.key, body.id, { resize: { width: 80 } })).json()) as any;
    // ... and meanwhile the key is revoked.
    expect((await t.request(`/keys/${aliceKeyId}`, { method: 'DELETE', headers: auth(t.adminKey) })).status).toBe(204);
    await taskRunner(t.deps).idle();
    const failed = (await (await t.request(`/tasks/${taskId}`, { headers: auth(t.adminKey) })).json()) as any;
    expect(failed).toMatchObject({ state: 'failed', result: null, error: { code: 'invalid_key' } });
  });

  it('a user deleted before the task runs fails the task too', async () => {
    const id = await t.seed('dune-2mp.jpg');
    const input = { imageId: id, options: 'w_64', base: 'http://localhost', caller: { userId: 4242 } };
    t.deps.db
      .insert(tasks)
      .values({ id: 'task_orphan', kind: 'transform', state: 'queued', input: JSON.stringify(input) })
      .run();
    await resumeTasks(t.deps);
    await taskRunner(t.deps).idle();
    expect(JSON.parse(taskRow('task_orphan').error!)).toMatchObject({ code: 'user_not_found' });
    expect(taskRow('task_orphan').state).toBe('failed');
  });
});

describe('leases: one node runs a task, another takes it over when that node dies', () => {
  const leftBy = async (id: string, node: string, leaseUntil: number) => {
    const imageId = await t.seed('dune-2mp.jpg');
    const input = { imageId, options: 'w_64', base: 'http://localhost', caller: { keyId: await keyIdOf(t.adminKey) } };
    t.deps.db
      .insert(tasks)
      .values({ id, kind: 'transform', state: 'running', input: JSON.stringify(input), claimedBy: node, leaseUntil })
      .run();
  };

  it('the sweep takes over a task whose lease ran out, and finishes it here', async () => {
    await leftBy('task_orphaned', 'dead-node', t.deps.clock() - 1);
    expect(await taskRunner(t.deps).sweep()).toBe(1);
    await taskRunner(t.deps).idle();
    expect(taskRow('task_orphaned')).toMatchObject({ state: 'done', claimedBy: t.deps.config.NODE_NAME, leaseUntil: null });
  });

  it('the sweep leaves a task another live node holds', async () => {
    await leftBy('task_held', 'other-node', t.deps.clock() + 60);
    expect(await taskRunner(t.deps).sweep()).toBe(0);
    expect(taskRow('task_held')).toMatchObject({ state: 'running', claimedBy: 'other-node' });
  });

  it('on a shared database the start takes only tasks whose lease ran out; alone on its database, every task left', async () => {
    await leftBy('task_live', 'other-node', t.deps.clock() + 60);
    await leftBy('task_dead', 'dead-node', t.deps.clock() - 1);
    const alone = t.deps.repos;
    t.deps.repos = { ...alone, shared: true };
    expect(await resumeTasks(t.deps)).toBe(1);
    await taskRunner(t.deps).idle();
    expect(taskRow('task_dead').state).toBe('done');
    expect(taskRow('task_live').state).toBe('running');
    await taskRunner(t.deps).stop();
    // The same rows, one process alone on SQLite: what was left running is its own (today's behaviour).
    t.deps.taskRunner = undefined;
    t.deps.repos = alone;
    expect(await resumeTasks(t.deps)).toBe(1);
    await taskRunner(t.deps).idle();
    expect(taskRow('task_live')).toMatchObject({ state: 'done', claimedBy: t.deps.config.NODE_NAME });
    await taskRunner(t.deps).stop();
  });

  it('a running task renews its lease until it ends', async () => {
    const real = t.deps.repos.tasks;
    const renewals: Array<{ node: string }> = [];
    t.deps.repos = {
      ...t.deps.repos,
      tasks: {
        ...real,
        renew: (id, lease) => {
          renewals.push(lease);
          return real.renew(id, lease);
        },
      },
    };
    const slow = t.deps.cache;
    t.deps.cache = new Proxy(slow, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (prop === 'fetch')
          return async (...args: unknown[]) => {
            await new Promise((r) => setTimeout(r, 300));
            return value.apply(target, args);
          };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const id = await t.seed('dune-2mp.jpg');
    const runner = new TaskRunner(t.deps, { concurrency: 1, node: 'renewing-node', renewMs: 40 });
    const row = await real.create({
      id: 'task_slow',
      kind: 'transform',
      ownerId: null,
      input: JSON.stringify({ imageId: id, options: 'w_64', base: 'http://localhost', caller: { keyId: await keyIdOf(t.adminKey) } }),
    });
    runner.push(row.id);
    await runner.idle();
    expect(taskRow('task_slow')).toMatchObject({ state: 'done', claimedBy: 'renewing-node' });
    expect(renewals.length).toBeGreaterThanOrEqual(2);
    const after = renewals.length;
    await new Promise((r) => setTimeout(r, 120));
    expect(renewals).toHaveLength(after);
    expect(renewals.every((l) => l.node === 'renewing-node')).toBe(true);
  });
});
