// docs/openapi.json, docs/rest-api.md and docs/errors.md are contracts: held here to the routes
// the server registers and the codes it answers with.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { WIRE_MAGIC, WIRE_VERSION } from '@causeway/core/wire-format';
import { createServer } from '../src/app.ts';
import { ServerErrorCode } from '../src/errors.ts';
import { TraceStore } from '../src/store/store.ts';

function read(path: string): string {
  return readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
}

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: { Error: { properties: { code: { enum: string[] } } } } };
}

async function serverRoutes(): Promise<string[]> {
  const store = await TraceStore.open(':memory:');
  const server = createServer({ store, analyzeIntervalMs: 0 });
  await server.app.ready();
  await server.app.close();
  await store.close();
  return server.routes.sort();
}

describe('docs/openapi.json', () => {
  const api = JSON.parse(read('docs/openapi.json')) as OpenApi;

  it('describes exactly the routes the server registers', async () => {
    assert.equal(api.openapi, '3.1.0');
    const documented = Object.entries(api.paths)
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      )
      .sort();
    assert.deepEqual(documented, await serverRoutes());
  });

  it('lists every error code in the Error schema', () => {
    assert.deepEqual(
      [...api.components.schemas.Error.properties.code.enum].sort(),
      Object.values(ServerErrorCode).sort(),
    );
  });
});

describe('docs/rest-api.md', () => {
  const doc = read('docs/rest-api.md');
  it('has a section for every route', async () => {
    for (const route of await serverRoutes()) {
      assert.ok(doc.includes(`### \`${route.replace(/:(\w+)/g, '{$1}')}`), `a section for ${route}`);
    }
  });
});

describe('docs/wire-format.md', () => {
  const doc = read('docs/wire-format.md');
  it('states the version and magic the code uses', () => {
    assert.match(doc, new RegExp(`^# Wire format, version ${WIRE_VERSION}$`, 'm'));
    assert.equal(WIRE_MAGIC, 'CWBATCH\0');
    assert.match(doc, /The magic `CWBATCH` and a zero byte/);
  });
});

describe('docs/errors.md', () => {
  it('lists exactly the server error codes', () => {
    const doc = read('docs/errors.md');
    const section = doc.slice(doc.indexOf('## @causeway/server'));
    const listed = [...section.matchAll(/^\| `(CW_SERVER_\w+)`/gm)].map((m) => m[1]);
    assert.deepEqual(listed.sort(), Object.values(ServerErrorCode).sort());
  });
});
