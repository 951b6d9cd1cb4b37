import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CAPTURE_BYTES, DEFAULT_RING_RECORDS, readConfig, safeName } from '../src/config.ts';
import { defaultTracePath } from '../src/runtime/trace-output.ts';

describe('readConfig', () => {
  it('has defaults that record into .causeway/traces under the working directory', () => {
    const config = readConfig({}, '/srv/app/server.ts', '/srv/app');
    assert.deepEqual(config, {
      enabled: true,
      service: 'server',
      traceFile: null,
      traceDir: '/srv/app/.causeway/traces',
      ringRecords: DEFAULT_RING_RECORDS,
      quiet: false,
      accesses: 'all',
      server: null,
      apiKey: null,
      interceptors: new Set(['server', 'client', 'pg']),
      files: { include: [], exclude: [] },
      propagate: true,
      scheduling: true,
      capture: 'headers',
      captureBytes: DEFAULT_CAPTURE_BYTES,
      samplingRate: 1,
    });
    assert.equal(
      defaultTracePath(config, new Date('2026-11-23T10:20:30.456Z'), 42),
      '/srv/app/.causeway/traces/server-20261123T102030Z-42.cwtrace',
    );
  });

  it('reads every CAUSEWAY_* variable', () => {
    const config = readConfig(
      {
        CAUSEWAY_ENABLED: '0',
        CAUSEWAY_SERVICE: 'billing api',
        CAUSEWAY_TRACE_FILE: '/tmp/t.cwtrace',
        CAUSEWAY_RING_RECORDS: '4096',
        CAUSEWAY_QUIET: 'true',
        CAUSEWAY_ACCESSES: 'writes',
        CAUSEWAY_SERVER: 'http://127.0.0.1:7777',
        CAUSEWAY_API_KEY: 'sesame',
        CAUSEWAY_INTERCEPTORS: 'server, pg',
        CAUSEWAY_INCLUDE: 'src/**, lib/*.ts',
        CAUSEWAY_EXCLUDE: 'src/generated/**',
        CAUSEWAY_PROPAGATE: '0',
        CAUSEWAY_CAPTURE: 'on',
        CAUSEWAY_CAPTURE_BYTES: '4096',
        CAUSEWAY_SAMPLING_RATE: '0.25',
      },
      undefined,
      '/',
    );
    assert.equal(config.enabled, false);
    assert.equal(config.service, 'billing api');
    assert.equal(config.traceFile, '/tmp/t.cwtrace');
    assert.equal(config.ringRecords, 4096);
    assert.equal(config.server, 'http://127.0.0.1:7777');
    assert.equal(config.apiKey, 'sesame');
    assert.equal(config.quiet, true);
    assert.equal(config.accesses, 'writes');
    assert.deepEqual(config.files, { include: ['src/**', 'lib/*.ts'], exclude: ['src/generated/**'] });
    assert.deepEqual([...config.interceptors], ['server', 'pg']);
    assert.equal(config.propagate, false);
    assert.equal(config.capture, 'on');
    assert.equal(config.captureBytes, 4096);
    assert.equal(config.samplingRate, 0.25);
    assert.equal(readConfig({ CAUSEWAY_CAPTURE: 'off' }, undefined, '/').capture, 'off');
    assert.equal(readConfig({ CAUSEWAY_INTERCEPTORS: 'off' }, undefined, '/').interceptors.size, 0);
    assert.equal(defaultTracePath(config, new Date(), 1), '/tmp/t.cwtrace');
  });

  it('falls back to the default for a value it does not understand', () => {
    const config = readConfig(
      {
        CAUSEWAY_ENABLED: 'maybe',
        CAUSEWAY_RING_RECORDS: '1000',
        CAUSEWAY_ACCESSES: 'some',
        CAUSEWAY_INTERCEPTORS: 'server,redis',
        CAUSEWAY_CAPTURE: 'bodies',
        CAUSEWAY_CAPTURE_BYTES: '10',
        CAUSEWAY_SAMPLING_RATE: '5%',
      },
      'x.js',
      '/',
    );
    assert.equal(config.enabled, true);
    assert.equal(config.accesses, 'all');
    assert.equal(config.interceptors.size, 3);
    assert.equal(config.ringRecords, DEFAULT_RING_RECORDS);
    assert.equal(config.capture, 'headers');
    assert.equal(config.captureBytes, DEFAULT_CAPTURE_BYTES);
    assert.equal(config.samplingRate, 1);
    assert.equal(readConfig({ CAUSEWAY_SAMPLING_RATE: '-0.1' }, 'x.js', '/').samplingRate, 1);
    assert.equal(readConfig({ CAUSEWAY_SAMPLING_RATE: '0' }, 'x.js', '/').samplingRate, 0);
  });

  it('makes service names safe for file names', () => {
    assert.equal(safeName('billing api/v2'), 'billing-api-v2');
    assert.equal(safeName('../..'), 'node');
  });
});
