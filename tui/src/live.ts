/**
 * Follows a Causeway server's Server-Sent Events (`GET /v1/live`, docs/rest-api.md): each event
 * is handed over with its name and parsed data. A stream that ends or fails is opened again after
 * the server's `retry` delay, until the follower is stopped.
 */

import type { RestClient } from './server-source.ts';

export interface LiveHandlers {
  onEvent(name: string, data: unknown): void;
  /**
   * The stream is open (first time, or again after a break). What changed before it opened was
   * not sent on it: the follower reads the state afresh here.
   */
  onOpen?(): void;
  /** A sentence when the stream cannot be followed; null once it is followed again. */
  onProblem(message: string | null): void;
}

const DEFAULT_RETRY_MS = 2000;

/** Starts following `path` (e.g. `/v1/live?trace=…`); returns the function that stops it. */
export function followLive(client: RestClient, path: string, handlers: LiveHandlers): () => void {
  const abort = new AbortController();
  let retryMs = DEFAULT_RETRY_MS;
  let timer: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    try {
      const response = await fetch(`${client.base}${path}`, {
        headers: { accept: 'text/event-stream', ...client.headers() },
        signal: abort.signal,
      });
      if (!response.ok || response.body === null) {
        const body = await response.text().catch(() => '');
        handlers.onProblem(`live updates refused: ${response.status} ${describeRefusal(body)}`.trim());
      } else {
        handlers.onProblem(null);
        handlers.onOpen?.();
        const decoder = new TextDecoder();
        let buffered = '';
        for await (const bytes of response.body) {
          buffered += decoder.decode(bytes, { stream: true });
          let end = buffered.indexOf('\n\n');
          while (end >= 0) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const retry = dispatch(block, handlers);
            if (retry !== null) retryMs = retry;
            end = buffered.indexOf('\n\n');
          }
        }
        if (!abort.signal.aborted)
          handlers.onProblem('live updates: the server closed the stream; reconnecting');
      }
    } catch (error) {
      if (abort.signal.aborted) return;
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      handlers.onProblem(`live updates: cannot reach ${client.base} (${cause}); retrying`);
    }
    if (abort.signal.aborted) return;
    timer = setTimeout(() => void connect(), retryMs);
  };
  void connect();
  return () => {
    abort.abort();
    if (timer !== null) clearTimeout(timer);
  };
}

/** Hands one event block to the handler; answers its `retry` field when it has one. */
function dispatch(block: string, handlers: LiveHandlers): number | null {
  let name = 'message';
  const data: string[] = [];
  let retry: number | null = null;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  }
  if (data.length > 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch {
      return retry;
    }
    handlers.onEvent(name, parsed);
  }
  return retry;
}

function describeRefusal(body: string): string {
  try {
    const { code, message } = JSON.parse(body) as { code?: string; message?: string };
    return [code, message].filter((part) => part !== undefined).join(': ');
  } catch {
    return '';
  }
}
