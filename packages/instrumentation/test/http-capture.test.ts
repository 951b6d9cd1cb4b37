// Value capture by the client interceptor (CAUSEWAY_CAPTURE=on) against a real server: headers
// minus secrets, and bounded bodies for fetch; and by the server interceptor, of incoming requests.

import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EventKind } from '@causeway/core/event-format';
import { CAPTURE_NAMES } from '../src/interceptors/capture.ts';
import { installHttpClient } from '../src/interceptors/http-client.ts';
import { installHttpServer } from '../src/interceptors/http-server.ts';
import { REDACTED } from '../src/runtime/strings.ts';
import { high, low, newRecorder, reader } from './intercepted.ts';

const BYTES = 300;
const recorder = newRecorder();
const read = reader(recorder);
let uninstall: () => void;

// Echoes the request body; /big answers 5000 bytes; /binary answers bytes that are not UTF-8.
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    res.setHeader('set-cookie', 'sid=s3cr3t');
    res.setHeader('x-request-echo', 'yes');
    if (req.url === '/big') return res.end('a'.repeat(5000));
    if (req.url === '/binary') return res.end(Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    res.end(`echo:${Buffer.concat(chunks).toString()}`);
  });
});
let base = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  uninstall = installHttpClient(recorder, null, { level: 'on', bytes: BYTES });
});
after(() => {
  uninstall();
  server.closeAllConnections();
  server.close();
});

/** The captures of the exchange whose request went to `url`, by capture name. */
function capturesFor(url: string): Map<string, Record<string, unknown>> {
  const recorded = read();
  const request = recorded.records.find(
    (r) => r.kind === EventKind.HttpClientRequest && recorded.string(high(r.a)) === url,
  );
  assert.ok(request, `an exchange for ${url}`);
  const found = new Map<string, Record<string, unknown>>();
  for (const r of recorded.records) {
    if (r.kind !== EventKind.CustomEvent) continue;
    const name = recorded.string(low(r.a)) as string;
    const text = recorded.string(high(r.a)) as string;
    assert.ok(text.length <= BYTES, `${name} is bounded`);
    const data = JSON.parse(text) as Record<string, unknown>;
    if (data.exchange === request.b) found.set(name, data);
  }
  return found;
}

describe('value capture (CAUSEWAY_CAPTURE=on)', () => {
  it('records fetch headers minus secrets, and both bodies as text', async () => {
    const response = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer abc', 'x-api-key': 'k1', 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(await response.text(), 'echo:hello');
    const captures = capturesFor(`${base}/echo`);
    const sent = (captures.get(CAPTURE_NAMES.requestHeaders)?.headers ?? {}) as Record<string, unknown>;
    assert.equal(sent.authorization, REDACTED);
    assert.equal(sent['x-api-key'], REDACTED);
    assert.equal(sent['content-type'], 'text/plain');
    const got = (captures.get(CAPTURE_NAMES.responseHeaders)?.headers ?? {}) as Record<string, unknown>;
    assert.equal(got['set-cookie'], REDACTED);
    assert.equal(got['x-request-echo'], 'yes');
    const body = captures.get(CAPTURE_NAMES.requestBody);
    assert.deepEqual([body?.bytes, body?.text, body?.truncated], [5, 'hello', undefined]);
    assert.equal(captures.get(CAPTURE_NAMES.responseBody)?.text, 'echo:hello');
  });

  it('redacts secret-looking keys inside a JSON body fetch sends', async () => {
    const response = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"client":"shop","client_secret":"s3"}',
    });
    await response.text();
    const body = capturesFor(`${base}/token`).get(CAPTURE_NAMES.requestBody);
    assert.equal(body?.text, `{"client":"shop","client_secret":"${REDACTED}"}`);
  });

  it('bounds a large body and records a binary one by its size', async () => {
    assert.equal((await (await fetch(`${base}/big`)).text()).length, 5000);
    const big = capturesFor(`${base}/big`).get(CAPTURE_NAMES.responseBody);
    assert.equal(big?.bytes, 5000);
    assert.equal(big?.truncated, true);
    assert.match(String(big?.text), /^a+$/);

    assert.equal((await (await fetch(`${base}/binary`)).arrayBuffer()).byteLength, 4);
    const binary = capturesFor(`${base}/binary`).get(CAPTURE_NAMES.responseBody);
    assert.deepEqual([binary?.bytes, binary?.binary, binary?.text], [4, true, undefined]);
  });

  it('records the body http.request writes, in pieces', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${base}/written`, { method: 'PUT' }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk;
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.write('part one, ');
      req.write(Buffer.from('part two, '));
      req.end('end');
    });
    assert.equal(answer, 'echo:part one, part two, end');
    const captures = capturesFor(`${base}/written`);
    const body = captures.get(CAPTURE_NAMES.requestBody);
    assert.deepEqual([body?.bytes, body?.text], [23, 'part one, part two, end']);
    // The response body, as the application read it.
    const answered = captures.get(CAPTURE_NAMES.responseBody);
    assert.deepEqual([answered?.bytes, answered?.text], [28, 'echo:part one, part two, end']);
  });

  it('records http.request headers minus secrets, including ones set after the call', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}/plain`, { headers: { cookie: 'sid=1' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.setHeader('x-trace-note', 'late');
      req.on('error', reject);
      req.end();
    });
    const captures = capturesFor(`${base}/plain`);
    const sent = (captures.get(CAPTURE_NAMES.requestHeaders)?.headers ?? {}) as Record<string, unknown>;
    assert.equal(sent.cookie, REDACTED);
    assert.equal(sent['x-trace-note'], 'late');
    const got = (captures.get(CAPTURE_NAMES.responseHeaders)?.headers ?? {}) as Record<string, unknown>;
    assert.deepEqual(got['set-cookie'], REDACTED);
    assert.equal(got['x-request-echo'], 'yes');
  });
});

describe('value capture of incoming requests (CAUSEWAY_CAPTURE=on)', () => {
  /**
   * Sends one POST to an app that reads its body, recorded at CAUSEWAY_CAPTURE=on: the captures
   * it left (by capture name) and the task of its HttpRequest record.
   */
  async function incoming(
    headers: Record<string, string>,
    body: string,
  ): Promise<{ captures: Map<string, Record<string, unknown>>; requestTask: number | undefined }> {
    const serverRecorder = newRecorder();
    const readServer = reader(serverRecorder);
    const undo = installHttpServer(serverRecorder, null, { level: 'on', bytes: BYTES });
    const app = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    try {
      await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
      const { port } = app.address() as AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}/transfers`, { method: 'POST', headers, body });
      assert.equal(await answer.text(), 'ok');
    } finally {
      undo();
      app.closeAllConnections();
      app.close();
    }
    const recorded = readServer();
    const captures = new Map<string, Record<string, unknown>>();
    for (const r of recorded.records) {
      if (r.kind !== EventKind.CustomEvent) continue;
      const data = JSON.parse(recorded.string(high(r.a)) as string) as Record<string, unknown>;
      captures.set(recorded.string(low(r.a)) as string, data);
    }
    return { captures, requestTask: recorded.records.find((r) => r.kind === EventKind.HttpRequest)?.task };
  }

  /** The body capture of one incoming request with `body` of `contentType`. */
  async function incomingBody(
    body: string,
    contentType: string,
  ): Promise<Record<string, unknown> | undefined> {
    const { captures } = await incoming({ 'content-type': contentType }, body);
    return captures.get(CAPTURE_NAMES.serverRequestBody);
  }

  it("records an incoming request's headers minus secrets and its body as the app read it, naming the request's task", async () => {
    const { captures, requestTask } = await incoming(
      { 'content-type': 'application/json', authorization: 'Bearer abc' },
      '{"from":"alice","amount":10}',
    );
    assert.ok(requestTask !== undefined);
    const headers = captures.get(CAPTURE_NAMES.serverRequestHeaders);
    assert.equal(headers?.exchange, 0);
    assert.equal(headers?.request, requestTask);
    const sent = (headers?.headers ?? {}) as Record<string, unknown>;
    assert.deepEqual([sent['content-type'], sent.authorization], ['application/json', REDACTED]);
    const body = captures.get(CAPTURE_NAMES.serverRequestBody);
    assert.deepEqual(
      [body?.exchange, body?.request, body?.bytes, body?.text],
      [0, requestTask, 28, '{"from":"alice","amount":10}'],
    );
  });

  it('redacts secret-looking keys inside a JSON body, at any depth; the rest as sent', async () => {
    const body = await incomingBody(
      '{"user":"alice","password":"hunter2","profile":{"apiKey":"k-123","city":"Oslo"},"cards":[{"cvv":"123"}]}',
      'application/json; charset=utf-8',
    );
    assert.equal(
      body?.text,
      `{"user":"alice","password":"${REDACTED}","profile":{"apiKey":"${REDACTED}","city":"Oslo"},"cards":[{"cvv":"${REDACTED}"}]}`,
    );
    assert.doesNotMatch(JSON.stringify(body), /hunter2|k-123/);
    // Nothing secret: the text exactly as sent, spacing included.
    const plain = await incomingBody('{ "from": "alice", "amount": 10 }', 'application/json');
    assert.equal(plain?.text, '{ "from": "alice", "amount": 10 }');
  });

  it('redacts secret-looking names inside a form body (application/x-www-form-urlencoded)', async () => {
    const body = await incomingBody(
      'user=alice&pass%77ord=hunter2&session_id=s1&note=a+b',
      'application/x-www-form-urlencoded',
    );
    assert.equal(
      body?.text,
      `user=alice&pass%77ord=${encodeURIComponent(REDACTED)}&session_id=${encodeURIComponent(REDACTED)}&note=a+b`,
    );
  });

  it('a JSON body cut short that names a secret-looking key is recorded without its text', async () => {
    const body = await incomingBody(
      `{"password":"hunter2","padding":"${'x'.repeat(BYTES * 2)}"}`,
      'application/json',
    );
    assert.equal(body?.text, undefined);
    assert.equal(body?.truncated, true);
    assert.doesNotMatch(JSON.stringify(body), /hunter2/);
  });

  it('records nothing of incoming requests below on', async () => {
    const serverRecorder = newRecorder();
    const readServer = reader(serverRecorder);
    const undo = installHttpServer(serverRecorder, null, { level: 'headers', bytes: BYTES });
    const app = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    try {
      await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
      const { port } = app.address() as AddressInfo;
      await (await fetch(`http://127.0.0.1:${port}/x`, { method: 'POST', body: 'hello' })).text();
    } finally {
      undo();
      app.closeAllConnections();
      app.close();
    }
    const recorded = readServer();
    assert.ok(recorded.records.some((r) => r.kind === EventKind.HttpRequest));
    assert.equal(recorded.records.filter((r) => r.kind === EventKind.CustomEvent).length, 0);
  });
});
