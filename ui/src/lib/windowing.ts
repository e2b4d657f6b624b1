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

/** One page as a keyset-paged command returns it. */
export interface KeysetPage<T> {
  items: T[];
  next: string | null;
}

/**
 * The rows of a keyset-paged list, kept only around the viewport: pages far from it are
 * released and fetched again, with the cursor kept for each page, when the list scrolls back
 * to them. So a list scrolled through 100,000 customers holds a few pages, not 100,000 rows.
 *
 * Positions are fixed when a page is first fetched (`starts`); a page fetched again that has
 * lost rows since leaves gaps (`at` gives `undefined` there) rather than moving every row
 * below it.
 */
export class PageCache<T extends { id: string }> {
  private pages = new Map<number, T[]>();
  /** `cursors[p]` fetches page `p` (`null`: the first page). */
  private cursors: (string | null)[] = [null];
  /** The position of each fetched page's first row. */
  private starts: number[] = [];
  /** Rows known to exist: every page fetched so far. */
  known = 0;
  /** The last page was fetched: nothing more to load at the end. */
  done = false;

  /** Pages fetched at least once. */
  get fetched(): number {
    return this.starts.length;
  }

  /** Pages in memory now. */
  get held(): number {
    return this.pages.size;
  }

  /** The page that holds position `i` (the last fetched one past the end). */
  pageOf(i: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The row at position `i`, if its page is in memory. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.known) return undefined;
    const p = this.pageOf(i);
    return this.pages.get(p)?.[i - this.starts[p]];
  }

  /** The cursor of the next page to fetch for the positions `range` (and `threshold` rows
   *  past it), or `undefined` when every page it needs is in memory and none is due. */
  wanted(range: WindowRange, threshold = 50): { page: number; after: string | null } | undefined {
    if (this.starts.length === 0) return this.done ? undefined : { page: 0, after: null };
    const last = this.pageOf(Math.max(range.start, range.end - 1));
    for (let p = this.pageOf(range.start); p <= last; p++) {
      if (!this.pages.has(p)) return { page: p, after: this.cursors[p] };
    }
    if (!this.done && range.end >= this.known - threshold) {
      const p = this.starts.length;
      return { page: p, after: this.cursors[p] };
    }
    return undefined;
  }

  /** Keeps page `p` as fetched with the cursor `wanted` gave. */
  put(p: number, page: KeysetPage<T>) {
    if (p === this.starts.length) {
      this.starts.push(this.known);
      this.known += page.items.length;
      if (page.next === null) this.done = true;
      else this.cursors[p + 1] = page.next;
    }
    if (p < this.starts.length) this.pages.set(p, page.items);
  }

  /** Releases the pages more than `keep` pages away from those `range` shows. */
  release(range: WindowRange, keep = 2) {
    if (this.starts.length === 0) return;
    const first = this.pageOf(range.start) - keep;
    const last = this.pageOf(Math.max(range.start, range.end - 1)) + keep;
    for (const p of [...this.pages.keys()]) {
      if (p < first || p > last) this.pages.delete(p);
    }
  }

  /** Puts `row` in place of the row with its id, or takes that row out (`null`): the rows
   *  after it move up. */
  replace(id: string, row: T | null) {
    for (const [p, items] of this.pages) {
      const i = items.findIndex((r) => r.id === id);
      if (i < 0) continue;
      if (row) {
        this.pages.set(p, items.map((r, j) => (j === i ? row : r)));
      } else {
        this.pages.set(p, items.filter((_, j) => j !== i));
        for (let q = p + 1; q < this.starts.length; q++) this.starts[q] -= 1;
        this.known -= 1;
      }
      return;
    }
  }
}
