// @causeway/tui: the terminal UI of `causeway tui`.

export { App, type AppProps } from './app.ts';
export { type InkKey, type KeyPress, keysFromInk } from './keys.ts';
export { type Layout, layout } from './layout.ts';
export { type RunOptions, runTui } from './run.ts';
export {
  type RestClient,
  ServerSource,
  ServerTraceModel,
  type ServerTraceSummary,
} from './server-source.ts';
export { FileTraceSource, openTraceFile, type TraceEntry, type TraceSource } from './source.ts';
export { initialState, type ReduceContext, type RowSet, reduce, reduceKeys, type UiState } from './state.ts';
export { TraceModel } from './trace-model.ts';
export type { TraceView } from './trace-view.ts';
