/**
 * Replays a recording against the application (docs/export-test.md, "The target"): starts the
 * app in-process with its dependency gated by a ReplayScheduler, sends every recorded request at
 * once, lets the scheduler release their calls in the recorded order, then reads the locations
 * the invariants are about.
 */

import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freezeClock } from './clock.ts';
import { answerOutgoing, type OutgoingOptions } from './outgoing.ts';
import { RECORDING_VERSION, type RecordedRequest, type ReplayRecording } from './recording.ts';
import { type ReplayGate, ReplayScheduler, refused } from './scheduler.ts';

/** The app as a replay runs it. */
export interface ReplayApp {
  /** The HTTP handler (an Express app is one). */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** The current value of `property` of the object stored under `key` (an invariant's location). */
  read(key: string, property: string): Promise<unknown>;
  close?(): Promise<void>;
}

/** The request to send for a recorded one. */
export interface ReplayRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** Sent as JSON when given. */
  body?: unknown;
  /** Sent as it is when given (a recorded body), with `contentType`. */
  text?: string;
  contentType?: string;
}

/**
 * What an application provides once, next to its code, so that exported tests can run it: how to
 * start it with its dependency gated, and how to rebuild a request from what the trace recorded of
 * it (the trace has the method and path, not the body).
 */
/** Methods whose requests carry no body: one not captured is no body. */
const NO_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * The recorded request as it was sent, from what the trace captured of it (CAUSEWAY_CAPTURE=on:
 * its body and content type); what a target without `requestFor` sends. Throws when the request
 * had a body the trace did not capture.
 */
export function recordedRequest(recorded: RecordedRequest): ReplayRequest {
  const { method, path, body, headers } = recorded;
  if (typeof body !== 'string') {
    if (NO_BODY.has(method)) return { method, path };
    throw new Error(
      `request ${recorded.request} (${method} ${path}): its body was not captured (record the run with CAUSEWAY_CAPTURE=on, or give the replay target a requestFor that rebuilds it)`,
    );
  }
  const contentType = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  return {
    method,
    path,
    text: body,
    ...(typeof contentType === 'string' ? { contentType } : {}),
  };
}

export interface ReplayTarget {
  /** `recording`: what is replayed, for a target that starts the app to match it (its gated class, first values). */
  start(gate: ReplayGate, recording: ReplayRecording): ReplayApp | Promise<ReplayApp>;
  /**
   * The request to send for a recorded one; without it, the recorded request as captured
   * (`recordedRequest`: its body needs CAUSEWAY_CAPTURE=on).
   */
  requestFor?(recorded: RecordedRequest): ReplayRequest;
  /** How the app's outgoing calls are answered (docs/export-test.md, "Outgoing calls"). */
  outgoing?: OutgoingOptions;
}

export interface ReplayOutcome {
  /** Per recorded request, the status it answered now. */
  statuses: (number | null)[];
  /** Per invariant of the recording, the value its location holds after the replay. */
  values: unknown[];
  /** What the replay did differently from the recording, for the test's diagnostics. */
  notes: string[];
}

/** The header that tells the in-process server which recorded request a request replays. */
export const REPLAY_REQUEST_HEADER = 'x-causeway-replay-request';

// Taken before a replay replaces http.request: the harness's own requests go out as they are.
const sendRequest = httpRequest;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  port: number,
  request: number,
  { method, path, body, text, contentType }: ReplayRequest,
): Promise<number> {
  const payload = text ?? (body === undefined ? undefined : JSON.stringify(body));
  const type = text === undefined ? 'application/json' : contentType;
  return new Promise((resolve, reject) => {
    const outgoing = sendRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        // A connection per request: none waits behind another's.
        agent: false,
        headers: {
          [REPLAY_REQUEST_HEADER]: String(request),
          ...(payload === undefined ? {} : { 'content-length': Buffer.byteLength(payload) }),
          ...(payload === undefined || type === undefined ? {} : { 'content-type': type }),
        },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
        response.once('error', reject);
      },
    );
    outgoing.once('error', reject);
    outgoing.end(payload);
  });
}

export async function replayRecording(
  target: ReplayTarget,
  recording: ReplayRecording,
): Promise<ReplayOutcome> {
  if (recording.version !== RECORDING_VERSION) {
    throw new Error(
      `this recording is version ${recording.version}; this replay reads version ${RECORDING_VERSION}: export the test again`,
    );
  }
  const requests = recording.requests.map((recorded) => ({
    recorded,
    send: target.requestFor === undefined ? recordedRequest(recorded) : target.requestFor(recorded),
  }));
  const scheduler = new ReplayScheduler(recording);
  const unfreeze = freezeClock(recording.clock.originMs, () => scheduler.now());
  let outgoing: Awaited<ReturnType<typeof answerOutgoing>> | null = null;
  let app: ReplayApp | null = null;
  try {
    outgoing = await answerOutgoing(recording, scheduler, target.outgoing);
    app = await target.start(scheduler, recording);
    return await replayOn(app, scheduler, recording, requests, outgoing.notes);
  } finally {
    await app?.close?.();
    await outgoing?.restore();
    unfreeze();
  }
}

async function replayOn(
  app: ReplayApp,
  scheduler: ReplayScheduler,
  recording: ReplayRecording,
  requests: { recorded: RecordedRequest; send: ReplayRequest }[],
  outgoingNotes: () => string[],
): Promise<ReplayOutcome> {
  const server = createServer((req, res) => {
    const request = Number(req.headers[REPLAY_REQUEST_HEADER]);
    res.once('close', () => scheduler.requestFinished(request, res.headersSent ? res.statusCode : null));
    // The body is read here, inside the request's context, so that the app's calls stay the
    // request's: a body parser reading it later would run in the socket's context instead.
    scheduler
      .run(request, async () => {
        const text = await readBody(req);
        if (text.length > 0 && /json/.test(req.headers['content-type'] ?? '')) {
          (req as IncomingMessage & { body?: unknown }).body = JSON.parse(text);
        }
        app.listener(req, res);
      })
      .catch((error: Error) => {
        res.statusCode = 500;
        res.end(error.message);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const sent = requests.map(({ recorded, send: request }) => {
      scheduler.requestStarted(recorded.request);
      return send(port, recorded.request, request);
    });
    const [statuses] = await Promise.all([Promise.all(sent), scheduler.done]);
    recording.requests.forEach((recorded, i) => {
      const status = statuses[i] ?? null;
      if (refused(status, recorded.status))
        scheduler.refusedAfterLastStep(recorded.request, status as number);
      else if (recorded.status !== null && status !== recorded.status) {
        throw scheduler.divergeAfterLastStep(
          `request ${recorded.request} (${recorded.method} ${recorded.path}) answered ${statuses[i]}, recorded ${recorded.status}`,
        );
      }
    });
    const successes = recording.requests.filter(({ status }) => succeeded(status));
    if (
      successes.length > 0 &&
      successes.every((recorded) => refused(statuses[recorded.request - 1] ?? null, recorded.status))
    ) {
      throw scheduler.divergeAfterLastStep(
        `every request that succeeded in the recording was refused (${statuses.join(', ')}): nothing of the race is left to check`,
      );
    }
    const values: unknown[] = [];
    for (const invariant of recording.invariants)
      values.push(await app.read(invariant.key, invariant.property));
    return { statuses, values, notes: [...scheduler.notes(), ...outgoingNotes()] };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A 2xx status: the request succeeded, and its change should have reached the location. */
function succeeded(status: number | null | undefined): boolean {
  return typeof status === 'number' && status >= 200 && status < 300;
}

/** `8, 9 and 10`. */
function listed(items: readonly (string | number)[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/**
 * A lost update's invariant, as a generated test asserts it: the location ends at its first value
 * plus the change of every request that succeeded in this replay (`carol.balance should be 1000
 * +10 +10 = 1020`). A request refused now (a 4xx where the recording had a success: a fix that
 * turns some transfers down) made no change, so its recorded change is not counted, and the
 * message says so.
 */
export function assertEveryChangeApplied(
  recording: ReplayRecording,
  outcome: ReplayOutcome,
  index: number,
): void {
  const invariant = recording.invariants[index];
  if (invariant === undefined) throw new Error(`the recording has no invariant ${index}`);
  const { key, property, initial, changes, recordedFinal } = invariant;
  const statusOf = (request: number) => outcome.statuses[request - 1];
  const counted = changes.filter(({ request }) => succeeded(statusOf(request)));
  const left = changes.filter(({ request }) => !succeeded(statusOf(request)));
  const expected = counted.reduce((sum, { change }) => sum + change, initial);
  const sum = counted.map(({ change }) => (change >= 0 ? `+${change}` : String(change))).join(' ');
  let why = "every request's change applied";
  if (left.length > 0) {
    const requests = left.map(({ request }) => request);
    const statuses = [...new Set(left.map(({ request }) => String(statusOf(request) ?? 'nothing')))];
    why = `the change of every request that succeeded applied; ${left.length === 1 ? 'request' : 'requests'} ${listed(requests)} ${left.length === 1 ? 'was' : 'were'} refused (${statuses.join(', ')}): their changes are not counted`;
  }
  const actual = outcome.values[index];
  assert.equal(
    actual,
    expected,
    `${key}.${property} should be ${initial}${sum.length > 0 ? ` ${sum}` : ''} = ${expected} (${why}), but is ${String(actual)} (the recorded run ended at ${recordedFinal}): an update was lost`,
  );
}
