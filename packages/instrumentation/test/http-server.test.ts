// The server interceptor against real servers: node:http, Express 5 and Fastify 5.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EventKind, ExchangeFlag, type RecordFields } from '@causeway/core/event-format';
import express from 'express';
import Fastify from 'fastify';
import { interceptorFailures } from '../src/interceptors/guard.ts';
import { installHttpServer, pathOf } from '../src/interceptors/http-server.ts';
import type { Recorder } from '../src/runtime/recorder.ts';
import { high, low, newRecorder, type Recorded, reader } from './intercepted.ts';

const recorder = newRecorder();
const read = reader(recorder);
let uninstall: () => void;
before(() => {
  uninstall = installHttpServer(recorder);
});
after(() => uninstall());

/** Closes the server once its connections have ended (their responses' 'close' events ran). */
function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => setImmediate(resolve)));
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Exchange {
  method: string | undefined;
  target: string | undefined;
  task: number;
  route: string | undefined;
  status: number | undefined;
  flags: number | undefined;
  duration: number | undefined;
}

/** The server exchanges recorded so far, by request task. */
function exchanges(recorded: Recorded): Exchange[] {
  const byTask = new Map<number, Exchange>();
  const ofTask = (task: number) => byTask.get(task) as Exchange;
  for (const r of recorded.records as RecordFields[]) {
    if (r.kind === EventKind.HttpRequest) {
      byTask.set(r.task, {
        method: recorded.string(low(r.a)),
        target: recorded.string(high(r.a)),
        task: r.task,
        route: undefined,
        status: undefined,
        flags: undefined,
        duration: undefined,
      });
    } else if (r.kind === EventKind.HttpRoute) {
      ofTask(low(r.a)).route = recorded.string(high(r.a));
    } else if (r.kind === EventKind.HttpResponse) {
      Object.assign(ofTask(low(r.a)), { status: high(r.a), flags: r.flags, duration: r.b });
    }
  }
  return [...byTask.values()];
}

function exchangeFor(target: string): Exchange {
  const found = exchanges(read()).filter((e) => e.target === target);
  assert.equal(found.length, 1, `one exchange for ${target}`);
  return found[0] as Exchange;
}

describe('the HTTP server interceptor', () => {
  it('drops the query from request targets', () => {
    assert.equal(pathOf('/a/b?token=1'), '/a/b');
    assert.equal(pathOf('/a'), '/a');
  });

  it('records a node:http request as a task of its own, with its status and duration', async () => {
    let handlerTask = 0;
    const server = createServer((req, res) => {
      handlerTask = recorder.currentTask;
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('ok');
    });
    const base = await listen(server);
    try {
      const response = await fetch(`${base}/hello?token=secret`, { method: 'POST', body: 'x' });
      assert.equal(await response.text(), 'ok');
      assert.equal((await fetch(`${base}/missing`)).status, 404);
    } finally {
      await close(server);
    }
    const hello = exchangeFor('/hello');
    assert.deepEqual(
      { method: hello.method, route: hello.route, status: hello.status, flags: hello.flags },
      { method: 'POST', route: undefined, status: 200, flags: 0 },
    );
    assert.ok((hello.duration as number) >= 0);
    assert.equal(exchangeFor('/missing').status, 404);
    assert.notEqual(exchangeFor('/missing').task, hello.task);
    // The handler ran in the task the request started.
    assert.equal(handlerTask, exchangeFor('/missing').task);
  });

  it('ends an exchange whose connection closes before the response completes as Failed', async () => {
    const server = createServer((_req, res) => {
      res.statusCode = 503;
      res.write('partial');
      setTimeout(() => res.destroy(), 10);
    });
    const base = await listen(server);
    try {
      await assert.rejects(async () => {
        const response = await fetch(`${base}/broken`);
        await response.text();
      });
    } finally {
      await close(server);
    }
    const broken = exchangeFor('/broken');
    assert.equal(broken.flags, ExchangeFlag.Failed);
    assert.equal(broken.status, 503);
  });

  it('records a request the server times out as Failed', async () => {
    const server = createServer(() => {
      // Never answers: the server's timeout closes the connection.
    });
    server.setTimeout(30, (socket) => socket.destroy());
    const base = await listen(server);
    try {
      await assert.rejects(fetch(`${base}/slow`));
    } finally {
      await close(server);
    }
    assert.equal(exchangeFor('/slow').flags, ExchangeFlag.Failed);
  });

  it('records the Express route, with the router’s mount path', async () => {
    const app = express();
    const accounts = express.Router();
    accounts.get('/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.use('/accounts', accounts);
    app.get('/fail', () => {
      throw new Error('handler failed');
    });
    const server = createServer(app);
    const base = await listen(server);
    try {
      assert.equal((await fetch(`${base}/accounts/42`)).status, 200);
      assert.equal((await fetch(`${base}/fail`)).status, 500);
      assert.equal((await fetch(`${base}/nowhere`)).status, 404);
    } finally {
      await close(server);
    }
    assert.deepEqual(
      [exchangeFor('/accounts/42'), exchangeFor('/fail'), exchangeFor('/nowhere')].map((e) => [
        e.method,
        e.route,
        e.status,
      ]),
      [
        ['GET', '/accounts/:id', 200],
        ['GET', '/fail', 500],
        ['GET', undefined, 404],
      ],
    );
  });

  it('records the Fastify route from its handler channel', async () => {
    const app = Fastify();
    app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      assert.equal((await fetch(`${base}/items/7`)).status, 200);
      assert.equal((await fetch(`${base}/boom`)).status, 500);
    } finally {
      await app.close();
    }
    assert.deepEqual(
      [exchangeFor('/items/7'), exchangeFor('/boom')].map((e) => [e.route, e.status]),
      [
        ['/items/:id', 200],
        ['/boom', 500],
      ],
    );
  });

  it('gives concurrent requests concurrent tasks of their own', async () => {
    const waiting: (() => void)[] = [];
    const server = createServer((_req, res) => {
      waiting.push(() => res.end('done'));
      if (waiting.length === 2) for (const answer of waiting) answer();
    });
    const base = await listen(server);
    try {
      await Promise.all([fetch(`${base}/pair/1`), fetch(`${base}/pair/2`)]);
    } finally {
      await close(server);
    }
    const one = exchangeFor('/pair/1');
    const two = exchangeFor('/pair/2');
    assert.notEqual(one.task, two.task);
    assert.deepEqual([one.status, two.status], [200, 200]);
  });

  it('counts a failure of its own and never lets it reach the application', async () => {
    const broken = new Proxy({} as Recorder, {
      get() {
        throw new Error('recorder unavailable');
      },
    });
    const undo = installHttpServer(broken);
    const before = interceptorFailures();
    const server = createServer((_req, res) => res.end('still served'));
    const base = await listen(server);
    try {
      assert.equal(await (await fetch(`${base}/anyway`)).text(), 'still served');
    } finally {
      await close(server);
      undo();
    }
    assert.ok(interceptorFailures() > before);
  });
});
