// Head sampling: the decision as a function of the trace id, its propagation through async work
// and across HTTP, and that an unsampled trace records nothing.

import assert from 'node:assert/strict';
import { executionAsyncId } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { decodeRecords, EventKind, type RecordFields } from '@causeway/core/event-format';
import { readTraceFile } from '@causeway/core/trace-file';
import { installHttpClient } from '../src/interceptors/http-client.ts';
import { installHttpServer } from '../src/interceptors/http-server.ts';
import { Recorder } from '../src/runtime/recorder.ts';
import { newTraceId, Sampler, sampledTraceId } from '../src/runtime/sampling.ts';
import { reader } from './intercepted.ts';

/** A trace id whose last 56 bits are all 0 (sampled at any rate above 0) or all 1 (only at 1). */
const LOW_ID = `${'ab'.repeat(9)}${'0'.repeat(14)}`;
const HIGH_ID = `${'ab'.repeat(9)}${'f'.repeat(14)}`;

describe('sampledTraceId', () => {
  it('is a pure function of the trace id and the rate', () => {
    for (let i = 0; i < 200; i++) {
      const id = newTraceId();
      const first = sampledTraceId(id, 0.3);
      assert.equal(sampledTraceId(id, 0.3), first);
      assert.equal(sampledTraceId(`${id}`, 0.3), first, 'a copy of the id decides the same');
    }
    assert.equal(sampledTraceId(LOW_ID, 0.001), true);
    assert.equal(sampledTraceId(HIGH_ID, 0.999), false);
    assert.equal(sampledTraceId(HIGH_ID, 1), true);
    assert.equal(sampledTraceId(LOW_ID, 0), false);
    assert.equal(sampledTraceId('not a trace id', 0.5), false);
  });

  it('samples about `rate` of random trace ids, and a lower rate a subset of a higher one', () => {
    const ids = Array.from({ length: 20_000 }, () => randomBytes(16).toString('hex'));
    for (const rate of [0.01, 0.1, 0.5, 0.9]) {
      const fraction = ids.filter((id) => sampledTraceId(id, rate)).length / ids.length;
      // Binomial spread at n = 20,000 is at most 0.0036: five of them.
      assert.ok(Math.abs(fraction - rate) < 0.018, `rate ${rate}: sampled ${fraction}`);
    }
    for (const id of ids.slice(0, 2000)) {
      if (sampledTraceId(id, 0.1)) assert.equal(sampledTraceId(id, 0.5), true);
    }
  });
});

describe('Sampler.decide', () => {
  it('honours the sender: an unsampled traceparent, and a Causeway recording', () => {
    const all = new Sampler(1);
    assert.equal(all.decide({ traceId: LOW_ID, sampled: false, fromCauseway: false }).sampled, false);
    assert.equal(all.decide({ traceId: HIGH_ID, sampled: true, fromCauseway: false }).sampled, true);
    const none = new Sampler(0);
    assert.equal(none.decide({ traceId: HIGH_ID, sampled: true, fromCauseway: true }).sampled, true);
    assert.equal(none.decide({ traceId: LOW_ID, sampled: true, fromCauseway: false }).sampled, false);
    assert.equal(none.decide(null).sampled, false);
    const half = new Sampler(0.5);
    assert.deepEqual(half.decide({ traceId: LOW_ID, sampled: true, fromCauseway: false }), {
      traceId: LOW_ID,
      sampled: true,
    });
    assert.equal(half.decide({ traceId: HIGH_ID, sampled: true, fromCauseway: false }).sampled, false);
    const fresh = half.decide(null);
    assert.equal(fresh.sampled, sampledTraceId(fresh.traceId, 0.5), 'a new trace is decided by its id');
  });

  it('is inactive, and asks nothing per task, until a trace may be unsampled', () => {
    const sampler = new Sampler(1);
    assert.equal(sampler.active, false);
    sampler.enter(sampler.decide(null));
    assert.equal(sampler.active, false);
    sampler.run(sampler.decide({ traceId: LOW_ID, sampled: false, fromCauseway: false }), () => {
      assert.equal(sampler.unsampledNow(), true);
    });
    assert.equal(sampler.active, true);
    assert.equal(sampler.unsampledNow(), false, 'outside the unsampled trace');
  });

  it('decides the process’s own trace by the recording’s trace id, again when the rate changes', () => {
    const sampler = new Sampler(0.5, HIGH_ID);
    assert.equal(sampler.processTrace.sampled, false);
    sampler.setProcessTrace(LOW_ID);
    assert.equal(sampler.processTrace.sampled, true);
    sampler.setRate(0);
    assert.equal(sampler.processTrace.sampled, false);
  });
});

/** Records that are not the thread's first task's begin. */
function recordedAfterStart(records: RecordFields[]): RecordFields[] {
  return records.filter((r) => !(r.kind === EventKind.TaskBegin && r.task === 1));
}

describe('an unsampled trace', () => {
  it('records nothing through awaits and timers, while a sampled one interleaved with it records all', async () => {
    const sampler = new Sampler(0.5);
    const recorder = new Recorder(1 << 12, performance, executionAsyncId, sampler);
    const read = reader(recorder);
    const site = 7;
    const work = async (label: number): Promise<void> => {
      const inv = recorder.enterAsync(site);
      recorder.writeKey(site, { label }, 'label', label, 0);
      recorder.suspend(site, inv);
      await sleep(1);
      recorder.resume(site, inv);
      recorder.enter(site);
      recorder.exit(site, 0);
      recorder.suspend(site, inv);
      await null;
      recorder.resume(site, inv);
      recorder.exit(site, inv);
    };
    const sampled = sampler.decide({ traceId: LOW_ID, sampled: true, fromCauseway: false });
    const unsampled = sampler.decide({ traceId: HIGH_ID, sampled: true, fromCauseway: false });
    assert.equal(sampled.sampled, true);
    assert.equal(unsampled.sampled, false);
    // Each starts as a request does (the server interceptor's part), in one synchronous run.
    const start = (trace: typeof sampled, label: number): Promise<void> =>
      sampler.run(trace, () => {
        if (trace.sampled) recorder.beginRequest('GET', `/${label}`);
        else recorder.skipTask();
        return work(label);
      });
    await Promise.all([start(unsampled, 2), start(sampled, 1), start(unsampled, 3)]);
    const records = recordedAfterStart(read().records);
    // The sampled run alone: enterAsync, write, suspend, resume, enter, exit, suspend, resume, exit.
    const kinds = records.map((r) => r.kind);
    assert.deepEqual(kinds, [
      EventKind.HttpRequest,
      EventKind.FnEnter,
      EventKind.Write,
      EventKind.AwaitSuspend,
      EventKind.AwaitResume,
      EventKind.FnEnter,
      EventKind.FnExit,
      EventKind.AwaitSuspend,
      EventKind.AwaitResume,
      EventKind.FnExit,
    ]);
    assert.equal(new Set(records.map((r) => r.task)).size, 3, 'the request and its two continuations');
  });
});

describe('sampling of HTTP requests', () => {
  // Two servers: `front` handles requests with instrumented-like probe calls and calls `back`,
  // which reports the headers it received. One recorder records both, as one process would.
  const sampler = new Sampler(0.5);
  const recorder = new Recorder(1 << 14, performance, executionAsyncId, sampler);
  const read = reader(recorder);
  const received: IncomingHttpHeaders[] = [];
  const site = 9;
  let uninstall: (() => void)[] = [];
  let front: Server;
  let back: Server;
  let frontUrl = '';
  let backPort = 0;

  async function listen(server: Server): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  function get(port: number, path: string, headers: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * A GET to `front` over a socket of its own: the test's requests do not go through the client
   * interceptor, which would make them requests from a Causeway recording.
   */
  function rawGet(port: number, path: string, headers: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let response = '';
      socket.on('data', (chunk: Buffer) => {
        response += chunk;
      });
      socket.on('end', () => resolve(response));
      socket.on('error', reject);
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n${lines.join('')}\r\n`);
    });
  }

  before(async () => {
    uninstall = [
      installHttpServer(recorder, { traceId: 'cd'.repeat(16), stream: 1 }),
      installHttpClient(recorder, { traceId: 'cd'.repeat(16), stream: 1 }),
    ];
    back = createServer((req, res) => {
      if (req.url === '/back') received.push(req.headers);
      res.end('ok');
    });
    backPort = await listen(back);
    front = createServer(async (req, res) => {
      const inv = recorder.enterAsync(site);
      recorder.writeKey(site, res, 'url', req.url, 0);
      recorder.suspend(site, inv);
      await get(backPort, '/back', {});
      recorder.resume(site, inv);
      recorder.writeKey(site, res, 'state', 'after', 0);
      recorder.exit(site, inv);
      res.end('done');
    });
    frontUrl = `${await listen(front)}`;
  });
  after(() => {
    for (const undo of uninstall) undo();
    front.closeAllConnections();
    front.close();
    back.closeAllConnections();
    back.close();
  });

  it('an unsampled request records nothing and tells the next service; a sampled one records all', async () => {
    const port = Number(frontUrl);
    read();
    received.length = 0;
    // Concurrent: the unsampled requests' continuations interleave with the sampled one's.
    await Promise.all([
      rawGet(port, '/unsampled-flag', { traceparent: `00-${LOW_ID}-${'1'.repeat(16)}-00` }),
      rawGet(port, '/unsampled-id', { traceparent: `00-${HIGH_ID}-${'1'.repeat(16)}-01` }),
      rawGet(port, '/sampled', { traceparent: `00-${LOW_ID}-${'2'.repeat(16)}-01` }),
    ]);
    const recorded = read();
    const records = recordedAfterStart(recorded.records);
    const targets = records
      .filter((r) => r.kind === EventKind.HttpRequest)
      .map((r) => recorded.string(Math.floor(r.a / 2 ** 32)));
    // /back requests made by the sampled one come from a Causeway recording: recorded too.
    assert.deepEqual(targets.sort(), ['/back', '/sampled']);
    // The sampled request's two writes (before and after its await); the others' four are not.
    assert.equal(records.filter((r) => r.kind === EventKind.Write).length, 2);
    assert.equal(records.filter((r) => r.kind === EventKind.HttpClientRequest).length, 1);

    // What `back` was sent: the sampled request's call names the recording; the others carry
    // their trace id with the sampled flag off, and no x-causeway-trace.
    const sent = received.map((h) => [
      h.traceparent?.slice(3, 35),
      h.traceparent?.slice(-2),
      h['x-causeway-trace'] !== undefined,
    ]);
    assert.equal(sent.length, 3);
    assert.deepEqual(sent.filter(([, , causeway]) => !causeway).sort(), [
      [LOW_ID, '00', false],
      [HIGH_ID, '00', false],
    ]);
    assert.deepEqual(
      sent.filter(([, , causeway]) => causeway),
      [['cd'.repeat(16), '01', true]],
    );
  });

  it('a request without context is decided by a trace id of its own, about `rate` of the time', async () => {
    const port = Number(frontUrl);
    read();
    const count = 40;
    for (let i = 0; i < count; i++) await rawGet(port, `/plain-${i}`, {});
    const recorded = read();
    const fronts = recordedAfterStart(recorded.records)
      .filter((r) => r.kind === EventKind.HttpRequest)
      .map((r) => recorded.string(Math.floor(r.a / 2 ** 32)))
      .filter((target) => target?.startsWith('/plain'));
    // At rate 0.5, 40 requests all recorded or none recorded has probability 2^-39.
    assert.ok(fronts.length > 0 && fronts.length < count, `${fronts.length} of ${count} recorded`);
  });
});

describe('sampling under register', () => {
  // The requests go over raw sockets, which no interceptor sees: only the server side records.
  const APP = [
    "import { createServer } from 'node:http';",
    "import { connect } from 'node:net';",
    'const state = { hits: 0 };',
    'async function handle(path: string): Promise<string> {',
    '  await new Promise((resolve) => setTimeout(resolve, 1));',
    '  state.hits = state.hits + 1;',
    '  return path;',
    '}',
    'const server = createServer(async (req, res) => { res.end(await handle(req.url ?? "")); });',
    "await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));",
    'const { port } = server.address() as { port: number };',
    'function get(path: string, flags: string): Promise<string> {',
    '  return new Promise((resolve) => {',
    "    const socket = connect(port, '127.0.0.1');",
    "    let text = '';",
    "    socket.on('data', (chunk) => { text += chunk; });",
    "    socket.on('end', () => resolve(text.slice(text.indexOf('\\r\\n\\r\\n') + 4)));",
    `    socket.write(\`GET \${path} HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\ntraceparent: 00-${LOW_ID}-${'1'.repeat(16)}-\${flags}\\r\\n\\r\\n\`);`,
    '  });',
    '}',
    "console.log(await get('/unsampled', '00'), await get('/sampled', '01'), state.hits);",
    'server.close();',
  ].join('\n');
  const REGISTER = fileURLToPath(new URL('../src/register.ts', import.meta.url));

  function run(rate: string): { records: RecordFields[]; strings: string[]; handleSites: Set<number> } {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-sampling-'));
    writeFileSync(join(dir, 'app.ts'), APP);
    const traceFile = join(dir, 'app.cwtrace');
    const result = spawnSync(process.execPath, ['--import', REGISTER, 'app.ts'], {
      cwd: dir,
      env: {
        ...process.env,
        CAUSEWAY_TRACE_FILE: traceFile,
        CAUSEWAY_QUIET: '1',
        CAUSEWAY_SAMPLING_RATE: rate,
      },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '/unsampled /sampled 2\n', 'the application computes the same');
    const file = readTraceFile(traceFile);
    // The global ids of the sites in function `handle` (its entry among them).
    const handleSites = new Set(
      file.sites.flatMap((chunk) =>
        chunk.table.sites.flatMap((site, i) => (site[3] === 'handle' ? [chunk.base + i] : [])),
      ),
    );
    return {
      records: file.events.flatMap((chunk) => decodeRecords(chunk.records)),
      strings: file.strings.flatMap((chunk) => chunk.strings),
      handleSites,
    };
  }

  it('at rate 0 records nothing but the thread’s first task', () => {
    const { records } = run('0');
    assert.deepEqual(
      records.map((r) => [r.kind, r.task]),
      [[EventKind.TaskBegin, 1]],
    );
  });

  it('at rate 1 honours an incoming unsampled traceparent: that request records nothing', () => {
    const { records, strings, handleSites } = run('1');
    const targets = records
      .filter((r) => r.kind === EventKind.HttpRequest)
      .map((r) => strings[Math.floor(r.a / 2 ** 32) - 1]);
    assert.deepEqual(targets, ['/sampled']);
    assert.ok(handleSites.size > 0);
    assert.equal(
      records.filter((r) => r.kind === EventKind.FnEnter && handleSites.has(r.site)).length,
      1,
      'handle entered once in the record: for the sampled request',
    );
    assert.equal(
      records.filter((r) => r.kind === EventKind.AwaitResume && handleSites.has(r.site)).length,
      1,
      'and resumed once',
    );
  });
});
