// @causeway/server: the REST server, the trace store and the wire format.

export type { Batch, BatchMeta } from '@causeway/core/wire-format';
export {
  BATCH_CONTENT_TYPE,
  decodeBatch,
  encodeBatch,
  toJsonBatch,
  WIRE_VERSION,
} from '@causeway/core/wire-format';
export type { CausewayServer, ServerOptions } from './app.ts';
export { API_KEY_HEADER, createServer, SERVER_VERSION } from './app.ts';
export { ServerError, ServerErrorCode } from './errors.ts';
export type { Retention, TraceRow } from './store/store.ts';
export { TraceStore } from './store/store.ts';
