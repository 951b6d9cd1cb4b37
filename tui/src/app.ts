/**
 * The TUI as a component: reads keys, keeps the state, loads the selected trace through its
 * TraceSource, and draws the Screen. Keys go through the pure reducer (state.ts); everything shown
 * comes from the view-model (trace-model.ts).
 */

import { useApp, useInput, useWindowSize } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import { h } from './h.ts';
import { keysFromInk } from './keys.ts';
import { layout } from './layout.ts';
import type { TraceEntry, TraceSource } from './source.ts';
import {
  followTail,
  initialState,
  type ReduceContext,
  type RowSet,
  reduceKeys,
  type UiState,
} from './state.ts';
import type { TraceView } from './trace-view.ts';
import { Screen } from './views/screen.ts';

export interface AppProps {
  source: TraceSource;
  entries: readonly TraceEntry[];
  /** The first entry, opened by the caller so that a bad trace fails before the UI starts. */
  first: TraceView | null;
  /** Told each model the app stops showing, and the one shown last on exit; disposes by default. */
  release?: (model: TraceView) => void;
}

interface Shown {
  id: string | null;
  refreshes: number;
  model: TraceView | null;
  problem: string | null;
}

const NO_ROWS: RowSet = { length: 0, eventAt: () => 0, rowAtOrBefore: () => 0, find: () => -1 };

/** News of traces arriving within this long is read as one re-read of the list. */
const LIST_DELAY_MS = 200;

const dispose = (model: TraceView) => model.dispose();

export function App({ source, entries: firstEntries, first, release = dispose }: AppProps) {
  const { exit } = useApp();
  const releaseRef = useRef(release);
  releaseRef.current = release;
  const { columns, rows } = useWindowSize();
  const [entries, setEntries] = useState<readonly TraceEntry[]>(firstEntries);
  const [state, setState] = useState<UiState>(initialState);
  /** What the status line says about the source (the live stream lost, the list unreadable). */
  const [notice, setNotice] = useState<string | null>(null);
  const [shown, setShown] = useState<Shown>({
    id: firstEntries[0]?.id ?? null,
    refreshes: 0,
    model: first,
    problem:
      first !== null
        ? null
        : firstEntries.length === 0
          ? `no traces in ${source.description} yet: waiting for one (r re-reads the list)`
          : 'no trace loaded',
  });
  /** The model on screen, for releasing it: the effects below outlive the render that saw it. */
  const shownModel = useRef<TraceView | null>(first);
  const screen = layout(columns, rows, state.findingsOnly);

  // The reducer runs in the input handler against the latest state and context, so a burst of
  // keys ("jjj") is applied key by key before the next frame.
  const latest = useRef({ state, context: context(shown.model, screen.timelineRows, entries.length) });
  latest.current.context = context(shown.model, screen.timelineRows, entries.length);
  useInput((input, key) => {
    const next = reduceKeys(latest.current.state, keysFromInk(input, key), latest.current.context);
    if (next !== latest.current.state) {
      latest.current.state = next;
      setState(next);
    }
  });

  useEffect(() => {
    if (state.quit) exit();
  }, [state.quit, exit]);

  // Load the selected trace when the selection changes or `r` asks for a refresh. It follows the
  // selected entry, not the list: a refreshed list that still holds it loads nothing more.
  const shownEntries = useRef(entries);
  shownEntries.current = entries;
  const selectedId = entries[state.traceIndex]?.id;
  useEffect(() => {
    let cancelled = false;
    const entry = shownEntries.current.find((e) => e.id === selectedId);
    if (entry === undefined) return;
    if (shown.id === entry.id && shown.refreshes === state.refreshes) return;
    // The trace on screen goes first: two large traces are not held at once.
    const previous = shownModel.current;
    if (previous !== null) releaseRef.current(previous);
    shownModel.current = null;
    setShown((before) => ({ ...before, model: null, problem: `loading ${entry.name}…` }));
    void (async () => {
      // Let the "loading" frame reach the screen before the (synchronous) file read.
      await new Promise((resolve) => setImmediate(resolve));
      let next: Shown;
      try {
        next = { id: entry.id, refreshes: state.refreshes, model: await source.open(entry), problem: null };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        next = {
          id: entry.id,
          refreshes: state.refreshes,
          model: null,
          problem: `cannot show ${entry.name}: ${message}`,
        };
      }
      if (cancelled) {
        if (next.model !== null) releaseRef.current(next.model);
        return;
      }
      shownModel.current = next.model;
      setShown(next);
    })();
    return () => {
      cancelled = true;
    };
  }, [selectedId, state.refreshes, shown.id, shown.refreshes, source]);

  // Re-reads the list (on `r`, or when the source says a trace arrived or changed): new
  // recordings appear, and the selection follows its trace.
  const reloadList = useCallback(async () => {
    let list: TraceEntry[];
    try {
      list = await source.list();
    } catch (error) {
      setNotice(`cannot list the traces: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (list.length === 0) return;
    const current = latest.current.state;
    const selectedId = shownEntries.current[current.traceIndex]?.id;
    const index = Math.max(
      0,
      list.findIndex((entry) => entry.id === selectedId),
    );
    if (index !== current.traceIndex) {
      latest.current.state = { ...current, traceIndex: index };
      setState(latest.current.state);
    }
    setEntries(list);
  }, [source]);

  useEffect(() => {
    if (state.refreshes === 0) return;
    void reloadList();
  }, [state.refreshes, reloadList]);

  // A source with news of its traces (a server's live stream) keeps the list current; bursts of
  // news (a batch every few ms) are read as one.
  useEffect(() => {
    if (source.watch === undefined) return;
    let timer: NodeJS.Timeout | null = null;
    const stop = source.watch(
      () => {
        timer ??= setTimeout(() => {
          timer = null;
          void reloadList();
        }, LIST_DELAY_MS);
      },
      (message) => setNotice(message),
    );
    return () => {
      stop();
      if (timer !== null) clearTimeout(timer);
    };
  }, [source, reloadList]);

  // A trace that changes after it is shown (pages of events arriving, a live trace growing): draw
  // again, and keep a selection on the last event on the last event.
  const [, setChanges] = useState(0);
  const knownLength = useRef(0);
  useEffect(() => {
    const model = shown.model;
    if (model === null) return;
    knownLength.current = model.eventCount;
    return model.subscribe(() => {
      const after = model.eventCount;
      const current = latest.current.state;
      const next = followTail(current, knownLength.current, after, latest.current.context.pageSize);
      knownLength.current = after;
      if (next !== current) {
        latest.current.state = next;
        setState(next);
      }
      setChanges((n) => n + 1);
    });
  }, [shown.model]);

  // Analyse the shown trace after it is on screen; each twentieth of the way redraws the progress.
  const [, setAnalysisStep] = useState(0);
  useEffect(() => {
    const model = shown.model;
    if (model === null || model.analysis.done) return;
    let step = -1;
    void model.analyze((fraction) => {
      const now = fraction >= 1 ? 20 : Math.floor(fraction * 20);
      if (now !== step || model.analysis.done) {
        step = now;
        setAnalysisStep((n) => n + 1);
      }
    });
  }, [shown.model]);

  // Release the last model when the app goes away.
  useEffect(
    () => () => {
      if (shownModel.current !== null) releaseRef.current(shownModel.current);
      shownModel.current = null;
    },
    [],
  );

  return h(Screen, {
    layout: screen,
    entries,
    state,
    model: shown.model,
    problem: shown.problem,
    notice,
  });
}

function context(model: TraceView | null, pageSize: number, traceCount: number): ReduceContext {
  return { rows: (findingsOnly) => model?.rows(findingsOnly) ?? NO_ROWS, pageSize, traceCount };
}
