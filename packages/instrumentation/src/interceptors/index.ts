/**
 * The interceptors: what records HTTP exchanges and database queries without user code
 * (docs/instrumentation.md, "Interceptors"). register.ts installs the ones CAUSEWAY_INTERCEPTORS
 * selects; each returns what uninstalls it, for tests.
 */

import type { InterceptorName } from '../config.ts';
import type { Recorder } from '../runtime/recorder.ts';
import { type CaptureSettings, DEFAULT_CAPTURE } from './capture.ts';
import { installHttpClient } from './http-client.ts';
import { installHttpServer } from './http-server.ts';
import { installPg } from './pg.ts';

/** Who is recording: what outgoing requests' propagation headers name (null: send none). */
export interface RecordingIdentity {
  traceId: string;
  stream: number;
}

export function installInterceptors(
  recorder: Recorder,
  names: ReadonlySet<InterceptorName>,
  identity: RecordingIdentity | null,
  capture: CaptureSettings = DEFAULT_CAPTURE,
): () => void {
  const uninstall: (() => void)[] = [];
  if (names.has('server')) uninstall.push(installHttpServer(recorder, identity, capture));
  if (names.has('client')) uninstall.push(installHttpClient(recorder, identity, capture));
  if (names.has('pg')) uninstall.push(installPg(recorder, capture));
  return () => {
    for (const undo of uninstall) undo();
  };
}
