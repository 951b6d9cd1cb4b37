/**
 * `AsyncResource.prototype.runInAsyncScope` (which `AsyncResource.bind`, `resource.bind` and
 * `EventEmitterAsyncResource` call) runs a function synchronously under another async id. The
 * recorder tells tasks apart by async id (recorder.ts), so instrumented code reached through it
 * (raw-body, which Express's `express.json()` uses, hands the parsed body on that way) would start
 * a task with no recorded cause. Called inside the current task, the wrapper has the recorder take
 * the resource's async id as the task's own until the function returns: the code stays in the
 * task that called it. Called from anywhere else, it changes nothing.
 *
 * The original runs with the same `this` and arguments; its result and exceptions pass through.
 */

import { AsyncResource } from 'node:async_hooks';
import type { Recorder } from './recorder.ts';

type RunInAsyncScope = (this: AsyncResource, ...args: unknown[]) => unknown;

export function installAsyncScopes(recorder: Recorder, settings: { enabled: boolean }): void {
  const proto = AsyncResource.prototype as unknown as { runInAsyncScope: RunInAsyncScope };
  const original = proto.runInAsyncScope;
  const wrapped = function runInAsyncScope(this: AsyncResource) {
    if (!settings.enabled || recorder.outsideTask() || !(this instanceof AsyncResource)) {
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(original, this, arguments);
    }
    const scope = this.asyncId();
    const outer = recorder.enterScope(scope);
    try {
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(original, this, arguments);
    } finally {
      recorder.leaveScope(scope, outer);
    }
  };
  Object.defineProperty(wrapped, 'length', { value: original.length });
  proto.runInAsyncScope = wrapped;
}
