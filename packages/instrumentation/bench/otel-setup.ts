// The OpenTelemetry side of the HTTP benchmark: `node --import ./otel-setup.ts http-app.ts`. The
// Node SDK with its http instrumentation traces every request (a server span each, W3C context
// propagation, batch span processor), and the spans go to an exporter that drops them, so the
// figure is OTel's in-process cost without a collector. Prints the spans exported on SIGTERM.

import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

let exported = 0;
const discard = {
  export(spans: unknown[], done: (result: { code: number }) => void): void {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown: (): Promise<void> => Promise.resolve(),
  forceFlush: (): Promise<void> => Promise.resolve(),
};

const sdk = new NodeSDK({
  serviceName: 'causeway-bench',
  traceExporter: discard as never,
  instrumentations: [new HttpInstrumentation()],
});
sdk.start();

process.once('SIGTERM', () => {
  sdk.shutdown().finally(() => {
    process.stderr.write(`${JSON.stringify({ otelSpansExported: exported })}\n`);
    process.exit(0);
  });
});
