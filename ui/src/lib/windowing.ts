// The rows of a long list that are on screen (plus a margin), so 100k rows cost a few dozen
// DOM nodes.
export interface WindowRange {
  start: number;
  end: number; // exclusive
}

export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 8,
): WindowRange {
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const count = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + count + overscan);
  return { start, end: Math.max(start, end) };
}

/** True when the window reaches the last `threshold` loaded rows: time to fetch the next page. */
export function needsMore(range: WindowRange, loaded: number, threshold = 50): boolean {
  return range.end >= loaded - threshold;
}
