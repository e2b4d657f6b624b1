import { describe, expect, it } from "vitest";
import { composePhone, groupPhone, looksLikePhone, maskedPhone, parseDecimal, pastedPhone, toAsciiDigits } from "../lib/digits";
import { format, formatMessage, messageIds } from "../lib/i18n.svelte";
import { PageCache, visibleRange } from "../lib/windowing";
import { toBackendError } from "../lib/backend";

describe("digits", () => {
  it("converts Arabic-Indic and Persian digits to ASCII", () => {
    expect(toAsciiDigits("٩٠١٢٣٤٥٦")).toBe("90123456");
    expect(toAsciiDigits("۹۰۱۲")).toBe("9012");
    expect(parseDecimal("٢٣٫٥٨٨")).toBe(23.588);
    expect(parseDecimal("")).toBeNull();
    expect(parseDecimal("abc")).toBeNaN();
  });

  it("adds the selected country code only when the number has none", () => {
    expect(composePhone("+968", "9012 3456")).toBe("+968 9012 3456");
    expect(composePhone("+971", "050 123 4567")).toBe("+971 50 123 4567");
    expect(composePhone("+968", "+971501234567")).toBe("+971501234567");
    expect(composePhone("+968", "٠٠٩٧١٥٠١٢٣٤٥٦٧")).toBe("00971501234567");
    expect(composePhone("+968", "  ")).toBe("");
  });

  it("recognises phone digits typed into the search box", () => {
    expect(looksLikePhone("90123456")).toBe(true);
    expect(looksLikePhone("٩٠١٢")).toBe(true);
    expect(looksLikePhone("Ahmed")).toBe(false);
  });

  it("takes phones as people paste them: marks, tel: links, slashes, full-width digits", () => {
    expect(pastedPhone("\u200f92123456\u200e")).toBe("92123456");
    expect(pastedPhone("tel:+968 9212 3456;ext=1")).toBe("+968 9212 3456");
    expect(pastedPhone("＋９６８９２１２３４５６")).toBe("+96892123456");
    // A mark before the plus no longer hides it: no second country code is added.
    expect(composePhone("+968", "\u200f+971501234567")).toBe("+971501234567");
    expect(composePhone("+968", "TEL:92123456")).toBe("+968 92123456");
    expect(composePhone("+968", "9212/3456")).toBe("+968 9212/3456");
    expect(looksLikePhone("\u200f9212\u200e3456")).toBe(true);
    expect(looksLikePhone("+968/9212/3456")).toBe(true);
    expect(looksLikePhone("tel:92123456")).toBe(true);
    expect(looksLikePhone("\u200f\u200f\u200f\u200f")).toBe(false);
  });

  it("groups phones for reading back and masks them for lists", () => {
    expect(groupPhone("+96892123456")).toBe("+968 9212 3456");
    expect(groupPhone("+971501234567")).toBe("+971 50 123 4567");
    expect(groupPhone("+4915112345678")).toBe("+4915112345678");
    expect(groupPhone(null)).toBe("");
    expect(maskedPhone("+96892123456")).toBe("+968 •••• 3456");
    expect(maskedPhone("+4915112345678")).toBe("•••• 5678");
  });
});

describe("messages", () => {
  it("English and Arabic define the same message ids (as the Rust test requires)", () => {
    expect(messageIds("en")).toEqual(messageIds("ar"));
    expect(messageIds("en")).toContain("counter-new-customer");
  });

  it("formats shell errors with localised field labels in both languages", () => {
    const message = {
      id: "error-too-long",
      args: [
        ["field", { type: "message", value: "field-first-name" }],
        ["max", { type: "number", value: 100 }],
      ] as [string, { type: "message"; value: string } | { type: "number"; value: number }][],
    };
    expect(formatMessage(message, "en")).toBe("First name must be at most 100 characters.");
    expect(formatMessage(message, "ar")).toBe("يجب ألا يزيد الاسم الأول عن 100 حرفاً.");
  });

  it("uses Arabic plural categories", () => {
    expect(format("ar", "list-loaded", { count: 2 })).toBe("عميلان معروضان");
    expect(format("en", "list-loaded", { count: 1 })).toBe("1 customer shown");
  });

  it("turns unknown failures into a localisable error", () => {
    const e = toBackendError(new Error("boom"));
    expect(e.code).toBe("unexpected");
    expect(formatMessage(e.detail, "en")).toBe("Something went wrong: boom");
  });
});

describe("windowing", () => {
  it("renders only the rows on screen plus a margin, even for 100k rows", () => {
    const r = visibleRange(44 * 50_000, 600, 44, 100_000, 8);
    expect(r.start).toBe(50_000 - 8);
    expect(r.end - r.start).toBeLessThan(40);
    expect(visibleRange(0, 600, 44, 3)).toEqual({ start: 0, end: 3 });
    expect(visibleRange(0, 600, 44, 0)).toEqual({ start: 0, end: 0 });
  });

  /** A keyset-paged list of `n` rows (`r0`, `r1`, …), 200 a page, as the shell pages it. */
  function pager(n: number) {
    const all = Array.from({ length: n }, (_, i) => ({ id: `r${i}` }));
    const asked: (string | null)[] = [];
    return {
      asked,
      page(after: string | null) {
        asked.push(after);
        const start = after === null ? 0 : all.findIndex((r) => r.id === after) + 1;
        const items = all.slice(start, start + 200);
        return { items, next: start + items.length < all.length ? items[items.length - 1].id : null };
      },
    };
  }

  /** Scrolls `cache` to show rows `start..end`, fetching what it asks for; returns the pages fetched. */
  function scrollTo(cache: PageCache<{ id: string }>, shell: ReturnType<typeof pager>, start: number, end: number) {
    let fetched = 0;
    const range = { start, end };
    for (;;) {
      cache.release(range);
      const want = cache.wanted(range);
      if (!want) return fetched;
      cache.put(want.page, shell.page(want.after));
      fetched += 1;
    }
  }

  it("fetches the next page near the end of what is known, and stops at the last page", () => {
    const shell = pager(450);
    const cache = new PageCache<{ id: string }>();
    expect(scrollTo(cache, shell, 0, 20)).toBe(1);
    expect(cache.known).toBe(200);
    expect(scrollTo(cache, shell, 160, 180)).toBe(1);
    expect(cache.known).toBe(400);
    expect(scrollTo(cache, shell, 380, 400)).toBe(1);
    expect([cache.known, cache.done]).toEqual([450, true]);
    expect(cache.at(449)?.id).toBe("r449");
    expect(scrollTo(cache, shell, 430, 450)).toBe(0);
  });

  it("holds only the pages near the viewport, and fetches a released page again with its cursor", () => {
    const shell = pager(100_000);
    const cache = new PageCache<{ id: string }>();
    for (let top = 0; top < 100_000; top += 150) scrollTo(cache, shell, top, Math.min(top + 30, 100_000));
    expect([cache.known, cache.done]).toEqual([100_000, true]);
    expect(cache.held).toBeLessThanOrEqual(5);
    expect(cache.at(0)).toBeUndefined();

    const before = shell.asked.length;
    expect(scrollTo(cache, shell, 210, 240)).toBe(1);
    expect(shell.asked.slice(before)).toEqual(["r199"]);
    expect(cache.at(210)?.id).toBe("r210");
    expect(cache.at(99_999)).toBeUndefined();
  });

  it("takes a row out or puts a changed one in its place, and the rows after it move up", () => {
    const shell = pager(450);
    const cache = new PageCache<{ id: string; active?: boolean }>();
    scrollTo(cache, shell, 180, 220);
    cache.replace("r5", { id: "r5", active: false });
    expect(cache.at(5)).toEqual({ id: "r5", active: false });
    cache.replace("r10", null);
    expect(cache.known).toBe(399);
    expect(cache.at(10)?.id).toBe("r11");
    expect(cache.at(198)?.id).toBe("r199");
    expect(cache.at(199)?.id).toBe("r200");
  });
});

describe("the shop's time", () => {
  it("shows days and times in the shop's zone, not UTC's", async () => {
    const { dateTime, setShopTimeZone, shopDay } = await import("../lib/format");
    setShopTimeZone("Asia/Muscat");
    // 23:30 and 02:00 in Muscat.
    expect(shopDay("2026-12-05T19:30:00Z")).toBe("2026-12-05");
    expect(shopDay("2026-12-05T22:00:00Z")).toBe("2026-12-06");
    expect(dateTime("2026-12-05T22:00:00Z")).toContain("2:00");
    setShopTimeZone("UTC");
    expect(shopDay("2026-12-05T22:00:00Z")).toBe("2026-12-05");
    setShopTimeZone("Mars/Olympus");
    expect(shopDay("2026-12-05T22:00:00Z")).toBe("2026-12-05");
    setShopTimeZone("Asia/Muscat");
    expect(shopDay(null)).toBe("—");
  });
});
