/** @module A hook that loads JSON from the node for a view, with its loading and error states. */

import { useEffect, useState } from "preact/hooks";
import { getJson } from "./api.ts";

/** A view's data: loading, loaded or failed (with the error kept for its code). */
export interface Loaded<T> {
  /** The answer, once loaded. */
  data: T | null;
  /** The failure, if any. */
  error: unknown;
  /** True until the first answer or failure. */
  loading: boolean;
}

/** GETs `path` (again whenever `path` or `refresh` changes). */
export function useJson<T>(path: string | null, refresh: unknown = null): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  useEffect(() => {
    if (path === null) return;
    let live = true;
    getJson<T>(path).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => void (live = false);
  }, [path, refresh]);
  return state;
}
