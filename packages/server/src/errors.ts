/**
 * Errors of @causeway/server. Every refused request is answered with its HTTP status and a JSON
 * body `{code, message}`; docs/errors.md lists the codes and a test keeps the two in agreement.
 */

import { CausewayError } from '@causeway/core/errors';

export const ServerErrorCode = {
  /** A batch is malformed: bad magic, bad chunk, bad field, bad record. */
  BATCH_INVALID: 'CW_SERVER_BATCH_INVALID',
  /** A batch is of a wire format version this server does not read. */
  BATCH_VERSION: 'CW_SERVER_BATCH_VERSION',
  /** A batch contradicts what is stored (strings out of order, events of an undeclared stream). */
  BATCH_CONFLICT: 'CW_SERVER_BATCH_CONFLICT',
  /** An OTLP/HTTP JSON request is malformed. */
  OTLP_INVALID: 'CW_SERVER_OTLP_INVALID',
  /** The body is larger than the server's limit. */
  BODY_TOO_LARGE: 'CW_SERVER_BODY_TOO_LARGE',
  /** The body's content type is not one the endpoint reads. */
  UNSUPPORTED_MEDIA_TYPE: 'CW_SERVER_UNSUPPORTED_MEDIA_TYPE',
  /** The API key header is missing or wrong. */
  UNAUTHORIZED: 'CW_SERVER_UNAUTHORIZED',
  /** No trace has this id. */
  TRACE_NOT_FOUND: 'CW_SERVER_TRACE_NOT_FOUND',
  /** No such route. */
  NOT_FOUND: 'CW_SERVER_NOT_FOUND',
  /** A query parameter is malformed. */
  BAD_QUERY: 'CW_SERVER_BAD_QUERY',
  /** The stored records of a trace were refused by the core: analysis is not possible. */
  ANALYSIS_FAILED: 'CW_SERVER_ANALYSIS_FAILED',
  /** The server refuses to start with this configuration (e.g. a public address without an API key). */
  CONFIG: 'CW_SERVER_CONFIG',
  /** The store cannot be opened or used. */
  STORE: 'CW_SERVER_STORE',
  /** The server is shutting down and takes no new batches. */
  SHUTTING_DOWN: 'CW_SERVER_SHUTTING_DOWN',
  /** A bug in the server: the request failed for a reason it did not foresee. */
  INTERNAL: 'CW_SERVER_INTERNAL',
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

const STATUS: Record<ServerErrorCode, number> = {
  CW_SERVER_BATCH_INVALID: 400,
  CW_SERVER_BATCH_VERSION: 400,
  CW_SERVER_BATCH_CONFLICT: 409,
  CW_SERVER_OTLP_INVALID: 400,
  CW_SERVER_BODY_TOO_LARGE: 413,
  CW_SERVER_UNSUPPORTED_MEDIA_TYPE: 415,
  CW_SERVER_UNAUTHORIZED: 401,
  CW_SERVER_TRACE_NOT_FOUND: 404,
  CW_SERVER_NOT_FOUND: 404,
  CW_SERVER_BAD_QUERY: 400,
  CW_SERVER_ANALYSIS_FAILED: 422,
  CW_SERVER_CONFIG: 500,
  CW_SERVER_STORE: 500,
  CW_SERVER_SHUTTING_DOWN: 503,
  CW_SERVER_INTERNAL: 500,
};

export class ServerError extends CausewayError {
  readonly status: number;
  constructor(code: ServerErrorCode, message: string) {
    super(code, message);
    this.name = 'ServerError';
    this.status = STATUS[code];
  }
}
