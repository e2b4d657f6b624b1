import { afterEach, describe, expect, it } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import App from "../App.svelte";
import type { CommandError } from "../bindings/CommandError";
import type { Customer } from "../bindings/Customer";
import type { DuplicatePair } from "../bindings/DuplicatePair";
import type { MergeEntry } from "../bindings/MergeEntry";
import type { MergePreview } from "../bindings/MergePreview";
import type { StaffMember } from "../bindings/StaffMember";
import { tauriBackend } from "../lib/backend";
import { dateTime } from "../lib/format";
import { setLocale } from "../lib/i18n.svelte";
import { staff } from "../lib/staff.svelte";
import { customer } from "./fixtures";

const maryam: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000b1", name: "Maryam", role: "manager" };
const aisha: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000b2", name: "Aisha", role: "cashier" };

const HOUR = 3_600_000;
const UNDO_HOURS = 24;
const REASON_MAX = 200;
/** The fields a merge may fill on the customer that stays (the shell's `fieldsTaken`). */
const FILLABLE = ["firstName", "lastName", "name2", "phone", "email"] as const;

const refused = (code: string, id: string, args: CommandError["message"]["args"] = []): CommandError => ({
  code,
  message: { id, args },
});

// The session is shared module state: forgotten after each test.
afterEach(() => {
  staff.session = null;
});

/** One merge as the fake shell keeps it: the log entry and what to put back on undo. */
type MergeRecord = { entry: MergeEntry; taken: (typeof FILLABLE)[number][]; spent: number; kindBefore: Customer["kind"] };

/**
 * A fake shell of a staffed till with `signedIn` at it, applying the merge rules as the device
 * does: managers only, no merge into itself or into an inactive or merged customer, a reason
 * that is required, one line and at most 200 characters, and an undo only within 24 hours of
 * the fake's clock (`state.now`), putting back what moved.
 */
function mergeShell(opts: {
  signedIn?: StaffMember;
  customers: Customer[];
  pairs?: { keep: string; duplicate: string; reason: DuplicatePair["reason"] }[];
  addresses?: Record<string, number>;
}) {
  const signedIn = opts.signedIn ?? maryam;
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  const state = {
    now: Date.parse("2026-11-25T12:00:00.000Z"),
    customers: new Map(opts.customers.map((c) => [c.id, { ...c }])),
    merges: [] as MergeRecord[],
  };
  let seq = 0;

  const managerOnly = () => {
    if (signedIn.role === "cashier") {
      throw refused("auth.forbidden", "error-role-required", [["role", { type: "message", value: "staff-role-manager" }]]);
    }
  };
  const get = (id: unknown): Customer => {
    const c = state.customers.get(String(id));
    if (!c) throw refused("customer.not-found", "error-not-found");
    return c;
  };
  /** The merge as the rules decide it (the preview is refused as the merge itself would be). */
  const decide = (duplicateId: unknown, keepId: unknown) => {
    if (duplicateId === keepId) throw refused("customer.merge-self", "error-merge-self");
    const duplicate = get(duplicateId);
    const keep = get(keepId);
    if (duplicate.mergedInto || keep.mergedInto) throw refused("customer.merged", "error-customer-merged");
    if (!keep.active) throw refused("customer.inactive", "error-customer-inactive");
    const taken = FILLABLE.filter((f) => keep[f] === null && duplicate[f] !== null);
    const becomes: Customer["kind"] =
      keep.kind === "guest" && (taken.includes("firstName") || taken.includes("name2")) && taken.includes("phone") ? "stub" : keep.kind;
    return { duplicate, keep, taken, becomes };
  };
  const reasonLine = (reason: unknown): string => {
    const text = String(reason ?? "");
    const field: [string, { type: "message"; value: string }] = ["field", { type: "message", value: "field-reason" }];
    if (/[\u0000-\u001f\u007f]/.test(text)) throw refused("validation.control-character", "error-control-character", [field]);
    const line = text.trim();
    if (!line) throw refused("validation.required", "error-required", [field]);
    if ([...line].length > REASON_MAX) {
      throw refused("validation.too-long", "error-too-long", [field, ["max", { type: "number", value: REASON_MAX }]]);
    }
    return line;
  };
  const withUndoable = (m: MergeRecord): MergeEntry => ({
    ...m.entry,
    undoable: m.entry.undoneAt === null && state.now - Date.parse(m.entry.mergedAt) < UNDO_HOURS * HOUR,
  });

  function merge(duplicateId: unknown, keepId: unknown, reason: unknown, at = state.now, by: StaffMember = signedIn): MergeEntry {
    const { duplicate, keep, taken, becomes } = decide(duplicateId, keepId);
    const line = reasonLine(reason);
    seq += 1;
    const entry: MergeEntry = {
      id: `0190a0b0-0000-7000-8000-0000000e${String(seq).padStart(4, "0")}`,
      sourceId: duplicate.id,
      targetId: keep.id,
      reason: line,
      mergedAt: new Date(at).toISOString(),
      mergedBy: by.id,
      mergedByName: by.name,
      ordersMoved: duplicate.orderCount,
      pointsMoved: duplicate.loyaltyPoints,
      addressesMoved: opts.addresses?.[duplicate.id] ?? 0,
      undoneAt: null,
      undoable: true,
    };
    const record: MergeRecord = { entry, taken, spent: duplicate.totalSpentMinor, kindBefore: keep.kind };
    state.merges.push(record);
    const filled = Object.fromEntries(taken.map((f) => [f, duplicate[f]]));
    state.customers.set(keep.id, {
      ...keep,
      ...filled,
      kind: becomes,
      orderCount: keep.orderCount + duplicate.orderCount,
      loyaltyPoints: keep.loyaltyPoints + duplicate.loyaltyPoints,
      totalSpentMinor: keep.totalSpentMinor + duplicate.totalSpentMinor,
    });
    state.customers.set(duplicate.id, { ...duplicate, active: false, mergedInto: keep.id, orderCount: 0, loyaltyPoints: 0, totalSpentMinor: 0 });
    return withUndoable(record);
  }

  function undo(mergeId: unknown, at = state.now): Customer {
    const record = state.merges.find((m) => m.entry.id === mergeId);
    if (!record) throw refused("merge.not-found", "error-not-found");
    // Undone already: stays so, as on the device (the rule gives no op).
    if (record.entry.undoneAt) return get(record.entry.sourceId);
    if (at - Date.parse(record.entry.mergedAt) >= UNDO_HOURS * HOUR) {
      throw refused("merge.undo-expired", "error-merge-undo-expired", [["hours", { type: "number", value: UNDO_HOURS }]]);
    }
    const { entry, taken, spent, kindBefore } = record;
    const keep = get(entry.targetId);
    const duplicate = get(entry.sourceId);
    const cleared = Object.fromEntries(taken.map((f) => [f, null]));
    state.customers.set(keep.id, {
      ...keep,
      ...cleared,
      kind: kindBefore,
      orderCount: keep.orderCount - entry.ordersMoved,
      loyaltyPoints: keep.loyaltyPoints - entry.pointsMoved,
      totalSpentMinor: keep.totalSpentMinor - spent,
    });
    const back: Customer = {
      ...duplicate,
      active: true,
      mergedInto: null,
      orderCount: entry.ordersMoved,
      loyaltyPoints: entry.pointsMoved,
      totalSpentMinor: spent,
    };
    state.customers.set(duplicate.id, back);
    record.entry = { ...entry, undoneAt: new Date(at).toISOString() };
    return { ...back };
  }

  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      switch (cmd) {
        case "staff_session":
          return { ownerPinRequired: false, signInRequired: true, staff: signedIn };
        case "staff_roster":
          return [maryam, aisha];
        case "startup_problem":
          return null;
        case "time_zone":
          return "Asia/Muscat";
        case "sync_status":
          return { online: false, pending: 0, parked: 0, lastSuccess: null, cursor: 0, lastError: null };
        case "enrollment_info":
          return { enrolled: false, serverUrl: null };
        case "parked_ops":
          return [];
        case "search_customers": {
          const q = String(args.query).toLowerCase();
          return [...state.customers.values()]
            .filter((c) => c.active && (c.phone?.endsWith(q) || (c.firstName ?? "").toLowerCase().includes(q)))
            .map((c) => ({ matched: "phoneLast4", customer: { ...c } }));
        }
        case "list_customers":
          return { items: [...state.customers.values()].filter((c) => c.active), next: null };
        case "customer_details":
          return { customer: { ...get(args.id) }, addresses: [], upgrade: null };
        case "address_distances":
          return [];
        case "customer_activity":
          return { audit: [], sync: [] };
        case "server_history":
          throw refused("device.not-enrolled", "error-not-enrolled");
        case "likely_duplicates":
          managerOnly();
          return (opts.pairs ?? [])
            .map((p) => ({ keep: get(p.keep), duplicate: get(p.duplicate), reason: p.reason }))
            .filter((p) => !p.keep.mergedInto && !p.duplicate.mergedInto)
            .map((p) => ({ keep: { ...p.keep }, duplicate: { ...p.duplicate }, reason: p.reason }) satisfies DuplicatePair);
        case "merge_preview": {
          managerOnly();
          const { duplicate, keep, taken, becomes } = decide(args.duplicateId, args.keepId);
          return {
            keep: { ...keep },
            duplicate: { ...duplicate },
            ordersMoving: duplicate.orderCount,
            spentMoving: duplicate.totalSpentMinor,
            pointsMoving: duplicate.loyaltyPoints,
            addressesMoving: opts.addresses?.[duplicate.id] ?? 0,
            fieldsTaken: taken,
            keepBecomes: becomes,
            verifiedPhoneStaysBehind: duplicate.phoneVerified && !taken.includes("phone"),
          } satisfies MergePreview;
        }
        case "merge_customers":
          managerOnly();
          return merge(args.duplicateId, args.keepId, args.reason);
        case "undo_merge":
          managerOnly();
          return undo(args.mergeId);
        case "customer_merges":
          return state.merges
            .filter((m) => m.entry.sourceId === args.id || m.entry.targetId === args.id)
            .sort((a, b) => Date.parse(b.entry.mergedAt) - Date.parse(a.entry.mergedAt))
            .map(withUndoable);
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  return {
    state,
    called: (cmd: string) => calls.filter((c) => c.cmd === cmd),
    /** A merge made earlier on this till (`hoursAgo` by the fake's clock), optionally undone since. */
    seedMerge(duplicateId: string, keepId: string, reason: string, hoursAgo: number, undoneHoursAgo?: number) {
      const entry = merge(duplicateId, keepId, reason, state.now - hoursAgo * HOUR, maryam);
      if (undoneHoursAgo !== undefined) undo(entry.id, state.now - undoneHoursAgo * HOUR);
      return entry;
    },
  };
}

// Salim came in twice: once as a stub with a typo in his number, once verified with his email.
const salim = () =>
  customer({
    firstName: "Salim",
    customerNumber: "CUST-00012",
    phone: "+96892123456",
    kind: "stub",
    orderCount: 5,
    loyaltyPoints: 40,
    totalSpentMinor: 25_000,
  });
const salimVerified = () =>
  customer({
    firstName: "Salim",
    lastName: "Al-Harthy",
    email: "salim@example.om",
    phone: "+96892123465",
    phoneVerified: true,
    kind: "full",
    orderCount: 2,
    loyaltyPoints: 7,
    totalSpentMinor: 4_500,
  });
// Huda's old, deactivated record has her number and her name in Arabic only.
const huda = () => customer({ firstName: "Huda", customerNumber: "CUST-00020", phone: "+96899001122", orderCount: 3, loyaltyPoints: 12 });
const hudaOld = () => customer({ firstName: null, name2: "هدى", phone: "+96899001122", active: false, orderCount: 1, loyaltyPoints: 2 });

function startApp() {
  const user = userEvent.setup();
  render(App, { props: { backend: tauriBackend } });
  return user;
}

async function openDuplicates() {
  const user = startApp();
  await user.click(await screen.findByTestId("nav-customers"));
  await user.click(await screen.findByTestId("find-duplicates"));
  return user;
}

/** A shell with Salim's two records as a likely pair (the stub suggested to stay). */
function salimShell(signedIn: StaffMember = maryam) {
  const keep = salim();
  const duplicate = salimVerified();
  const shell = mergeShell({
    signedIn,
    customers: [keep, duplicate],
    pairs: [{ keep: keep.id, duplicate: duplicate.id, reason: "same-name-near-phone" }],
    addresses: { [duplicate.id]: 1 },
  });
  return { ...shell, keep, duplicate };
}

describe("the Duplicates view", () => {
  it("lists each likely pair with both customers' names, numbers or 'pending number', phones, orders, points and the reason", async () => {
    const keep = huda();
    const old = hudaOld();
    const s = salim();
    const v = salimVerified();
    const shell = mergeShell({
      customers: [keep, old, s, v],
      pairs: [
        { keep: keep.id, duplicate: old.id, reason: "same-phone" },
        { keep: s.id, duplicate: v.id, reason: "same-name-near-phone" },
      ],
    });
    await openDuplicates();
    const pairs = await screen.findAllByTestId("duplicate-pair");
    expect(shell.called("likely_duplicates")).toHaveLength(1);
    expect(pairs).toHaveLength(2);
    expect(screen.getByTestId("duplicates-count").textContent).toBe("2 pairs to check");

    const [first, second] = pairs;
    expect(within(first).getByTestId("duplicate-reason").textContent).toBe("Same phone number");
    const kept = within(first).getByTestId("pair-keep");
    expect(kept.textContent).toContain("Suggested to keep");
    expect(within(kept).getByTestId("pair-keep-name").textContent).toBe("Huda");
    expect(kept.textContent).toContain("CUST-00020");
    expect(within(kept).getByTestId("pair-keep-phone").textContent).toBe("+968 9900 1122");
    expect(within(kept).getByTestId("pair-keep-orders").textContent).toBe("3");
    expect(within(kept).getByTestId("pair-keep-points").textContent).toBe("12");
    const dup = within(first).getByTestId("pair-duplicate");
    expect(within(dup).getByTestId("pair-duplicate-name").textContent).toBe("هدى");
    expect(dup.textContent).toContain("Pending number");
    expect(dup.textContent).toContain("Inactive");
    expect(within(dup).getByTestId("pair-duplicate-phone").getAttribute("dir")).toBe("ltr");

    expect(within(second).getByTestId("duplicate-reason").textContent).toBe("Same name, phone numbers one digit apart");
    expect(within(second).getByTestId("pair-duplicate").textContent).toContain("Verified");
    expect(within(second).getByTestId("review-merge").getAttribute("aria-label")).toBe(
      "Review merging Salim Al-Harthy into Salim",
    );
  });

  it("says there are no likely duplicates when the shell finds none", async () => {
    mergeShell({ customers: [huda()] });
    await openDuplicates();
    expect((await screen.findByTestId("duplicates-none")).textContent).toBe("No likely duplicates among this till's customers.");
    expect(screen.queryAllByTestId("duplicate-pair")).toHaveLength(0);
  });

  it("speaks Arabic right to left: the reasons and the empty list", async () => {
    setLocale("ar");
    const keep = huda();
    const old = hudaOld();
    mergeShell({ customers: [keep, old], pairs: [{ keep: keep.id, duplicate: old.id, reason: "same-phone" }] });
    const user = await openDuplicates();
    expect(document.documentElement.dir).toBe("rtl");
    expect((await screen.findByTestId("duplicate-reason")).textContent).toBe("رقم الهاتف نفسه");
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("عملاء مكررون محتملون");
    expect(screen.getByTestId("pair-duplicate").textContent).toContain("رقم قيد الانتظار");
    await user.click(screen.getByTestId("duplicates-back"));
    expect(await screen.findByTestId("find-duplicates")).toBeTruthy();
  });

  it("is not offered to a cashier, who never asks the shell for duplicates", async () => {
    const shell = salimShell(aisha);
    const user = startApp();
    await waitFor(() => expect(screen.getByTestId("signed-in").textContent).toContain("Aisha"));
    expect(screen.queryByTestId("nav-customers")).toBeNull();
    await user.keyboard("{F8}");
    expect(screen.queryByTestId("find-duplicates")).toBeNull();
    expect(screen.queryByTestId("duplicate-pair")).toBeNull();
    expect(shell.called("likely_duplicates")).toHaveLength(0);
  });
});

describe("the merge preview", () => {
  it("shows who stays and who goes, what moves, and warns that the duplicate's verified phone would stay behind", async () => {
    const { called, keep, duplicate } = salimShell();
    const user = await openDuplicates();
    await user.click(await screen.findByTestId("review-merge"));
    await screen.findByTestId("merge-moves");
    expect(called("merge_preview").map((c) => c.args)).toEqual([{ duplicateId: duplicate.id, keepId: keep.id }]);
    expect(screen.getByRole("heading", { level: 3 }).textContent).toBe("Merge Salim Al-Harthy into Salim?");
    expect(screen.getByTestId("merge-keep").textContent).toContain("Stays");
    expect(screen.getByTestId("merge-keep-name").textContent).toBe("Salim");
    expect(screen.getByTestId("merge-duplicate").textContent).toContain("Merged in, then inactive");
    expect(screen.getByTestId("merge-duplicate-name").textContent).toBe("Salim Al-Harthy");
    expect(screen.getByTestId("merge-orders").textContent).toBe("2");
    expect(screen.getByTestId("merge-spent").textContent).toBe("4.500 OMR");
    expect(screen.getByTestId("merge-points").textContent).toBe("7");
    expect(screen.getByTestId("merge-addresses").textContent).toBe("1");
    expect(screen.getByTestId("merge-fields").textContent?.trim()).toBe("Last name, Email");
    expect(screen.getByTestId("merge-kind-after").textContent).toBe("Stub");
    expect(screen.getByTestId("merge-verified-warning").textContent?.trim()).toBe(
      "Salim Al-Harthy has a verified phone number, but Salim keeps its own phone, so the verified number would not be kept. Swap to keep Salim Al-Harthy instead.",
    );
    // The reason is the next thing to type, and the field takes no more than the shell does.
    const reason = screen.getByTestId("merge-reason") as HTMLInputElement;
    expect(document.activeElement).toBe(reason);
    expect(reason.maxLength).toBe(200);
  });

  it("Swap asks for the preview again with the two customers swapped, and the warning goes", async () => {
    const { called, keep, duplicate } = salimShell();
    const user = await openDuplicates();
    await user.click(await screen.findByTestId("review-merge"));
    await screen.findByTestId("merge-verified-warning");
    await user.click(screen.getByTestId("merge-swap"));
    await waitFor(() => expect(screen.getByTestId("merge-keep-name").textContent).toBe("Salim Al-Harthy"));
    expect(called("merge_preview").map((c) => c.args)).toEqual([
      { duplicateId: duplicate.id, keepId: keep.id },
      { duplicateId: keep.id, keepId: duplicate.id },
    ]);
    expect(screen.getByTestId("merge-duplicate-name").textContent).toBe("Salim");
    expect(screen.getByTestId("merge-orders").textContent).toBe("5");
    expect(screen.getByTestId("merge-spent").textContent).toBe("25.000 OMR");
    expect(screen.getByTestId("merge-fields").textContent?.trim()).toBe("None");
    expect(screen.getByTestId("merge-kind-after").textContent).toBe("Full");
    expect(screen.queryByTestId("merge-verified-warning")).toBeNull();
  });

  it("shows a refused preview localised (a deactivated customer cannot stay) and Swap goes back", async () => {
    const keep = huda();
    const old = hudaOld();
    const shell = mergeShell({ customers: [keep, old], pairs: [{ keep: keep.id, duplicate: old.id, reason: "same-phone" }] });
    const user = await openDuplicates();
    await user.click(await screen.findByTestId("review-merge"));
    await screen.findByTestId("merge-moves");
    await user.click(screen.getByTestId("merge-swap"));
    await waitFor(() => expect(screen.getByTestId("merge-error").textContent).toBe("This customer has been deactivated."));
    expect(screen.queryByTestId("merge-moves")).toBeNull();
    expect((screen.getByTestId("merge-confirm") as HTMLButtonElement).disabled).toBe(true);
    await user.click(screen.getByTestId("merge-swap"));
    await waitFor(() => expect(screen.getByTestId("merge-keep-name").textContent).toBe("Huda"));
    expect(screen.getByTestId("merge-error").textContent).toBe("");
    expect(shell.called("merge_customers")).toHaveLength(0);
  });

  it("refuses a blank reason with the shell's localised 'Reason is required.' and merges nothing", async () => {
    const { called, state, keep, duplicate } = salimShell();
    const user = await openDuplicates();
    await user.click(await screen.findByTestId("review-merge"));
    await screen.findByTestId("merge-moves");
    await user.type(screen.getByTestId("merge-reason"), "   ");
    await user.click(screen.getByTestId("merge-confirm"));
    await waitFor(() => expect(screen.getByTestId("merge-error").textContent).toBe("Reason is required."));
    expect(called("merge_customers").map((c) => c.args)).toEqual([{ duplicateId: duplicate.id, keepId: keep.id, reason: "   " }]);
    expect(state.merges).toHaveLength(0);
    expect(state.customers.get(duplicate.id)?.active).toBe(true);
    expect(state.customers.get(keep.id)?.orderCount).toBe(5);
    expect(screen.queryByTestId("merge-done")).toBeNull();
    expect(screen.queryByTestId("merge-undo")).toBeNull();
    // Kept as a message id: switching the language re-localises it.
    await user.click(screen.getByTestId("language"));
    await waitFor(() => expect(screen.getByTestId("merge-error").textContent).toBe("السبب مطلوب."));
  });

  it("merges with a reason, says what moved and offers Undo, which calls undo_merge with the merge's id", async () => {
    const { called, state, keep, duplicate } = salimShell();
    const user = await openDuplicates();
    await user.click(await screen.findByTestId("review-merge"));
    await screen.findByTestId("merge-moves");
    await user.type(screen.getByTestId("merge-reason"), "Same man, number typed wrong at the counter{Enter}");

    const done = await screen.findByTestId("merge-done");
    expect(called("merge_customers").map((c) => c.args)).toEqual([
      { duplicateId: duplicate.id, keepId: keep.id, reason: "Same man, number typed wrong at the counter" },
    ]);
    expect(done.textContent).toContain("Salim Al-Harthy was merged into Salim.");
    expect(done.textContent).toContain("Orders moved: 2 · Points moved: 7 · Addresses moved: 1");
    expect(state.customers.get(keep.id)?.orderCount).toBe(7);
    // The list was asked again: the pair is gone.
    expect(await screen.findByTestId("duplicates-none")).toBeTruthy();
    expect(screen.queryByTestId("merge-preview")).toBeNull();

    await user.click(screen.getByTestId("merge-undo"));
    await waitFor(() =>
      expect(screen.getByTestId("merge-notice").textContent).toBe("Merge undone: Salim Al-Harthy is a separate, active customer again."),
    );
    expect(called("undo_merge").map((c) => c.args)).toEqual([{ mergeId: state.merges[0].entry.id }]);
    expect(screen.queryByTestId("merge-done")).toBeNull();
    expect(await screen.findAllByTestId("duplicate-pair")).toHaveLength(1);
    expect(state.customers.get(keep.id)?.orderCount).toBe(5);
    expect(state.customers.get(duplicate.id)?.active).toBe(true);
  });
});

describe("the merge log on the customer's detail page", () => {
  /** Huda's page with two merges: one of two hours ago, one of three days ago that was undone. */
  function hudaWithMerges(signedIn: StaffMember = maryam) {
    const keep = huda();
    const old = hudaOld();
    const other = customer({ firstName: "Huda", lastName: "Said", phone: "+96899001133" });
    const shell = mergeShell({ signedIn, customers: [keep, old, other], addresses: { [old.id]: 1 } });
    const undone = shell.seedMerge(other.id, keep.id, "Thought it was her sister's record", 72, 71);
    const recent = shell.seedMerge(old.id, keep.id, "Same phone, old record", 2);
    return { ...shell, keep, old, recent, undone };
  }

  async function openActivity(user: ReturnType<typeof userEvent.setup>, label = "Activity") {
    await user.type(await screen.findByTestId("search"), "1122");
    await screen.findAllByTestId("result");
    await user.keyboard("{Enter}");
    await screen.findByTestId("detail-name");
    await user.click(screen.getByRole("tab", { name: label }));
    return screen.findByTestId("merge-log");
  }

  it("shows when, by whom, why and what moved, newest first, with the other customer's name and the undone state", async () => {
    const { keep, recent, undone, called } = hudaWithMerges();
    const log = await openActivity(startApp());
    await waitFor(() => expect(within(log).getAllByTestId("merge-entry-what")[0].textContent?.trim()).toBe("هدى merged into this customer"));
    expect(called("customer_merges").at(-1)?.args).toEqual({ id: keep.id });
    const entries = within(log).getAllByTestId("merge-entry");
    expect(entries).toHaveLength(2);
    const [first, second] = entries;
    expect(within(first).getByTestId("merge-entry-when").textContent).toBe(dateTime(recent.mergedAt));
    expect(within(first).getByTestId("merge-entry-who").textContent?.trim()).toBe("By Maryam");
    expect(within(first).getByTestId("merge-entry-reason").textContent).toBe("Reason: Same phone, old record");
    expect(within(first).getByTestId("merge-entry-moved").textContent?.trim()).toBe("Orders moved: 1 · Points moved: 2 · Addresses moved: 1");
    expect(within(first).getByTestId("merge-log-undo")).toBeTruthy();
    expect(first.dataset.undone).toBe("false");

    expect(within(second).getByTestId("merge-entry-what").textContent?.trim()).toBe("Huda Said merged into this customer");
    expect(second.dataset.undone).toBe("true");
    // Undone an hour after it was made.
    const undoneAt = new Date(Date.parse(undone.mergedAt) + HOUR).toISOString();
    expect(within(second).getByTestId("merge-entry-undone").textContent).toBe(`Undone ${dateTime(undoneAt)}`);
    expect(within(second).queryByTestId("merge-log-undo")).toBeNull();
  });

  it("a manager's Undo asks first, then calls undo_merge and reloads the customer and the log", async () => {
    const { recent, called, state, old } = hudaWithMerges();
    const user = startApp();
    const log = await openActivity(user);
    await user.click(await within(log).findByTestId("merge-log-undo"));
    expect(screen.getByRole("alertdialog").textContent).toContain(
      "Undo this merge? هدى becomes a separate, active customer again, and what moved goes back.",
    );
    expect(document.activeElement).toBe(screen.getByTestId("merge-log-undo-yes"));
    await user.click(screen.getByTestId("merge-log-undo-no"));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(called("undo_merge")).toHaveLength(0);

    const detailsBefore = called("customer_details").length;
    await user.click(screen.getByTestId("merge-log-undo"));
    await user.click(screen.getByTestId("merge-log-undo-yes"));
    await waitFor(() =>
      expect(screen.getByTestId("merge-log-notice").textContent).toBe("Merge undone: هدى is a separate, active customer again."),
    );
    expect(called("undo_merge").map((c) => c.args)).toEqual([{ mergeId: recent.id }]);
    expect(state.customers.get(old.id)?.active).toBe(true);
    expect(called("customer_details").length).toBeGreaterThan(detailsBefore);
    await waitFor(() => expect(screen.getAllByTestId("merge-entry")[0].dataset.undone).toBe("true"));
    expect(screen.queryByTestId("merge-log-undo")).toBeNull();
  });

  it("shows an undo refused because the 24 hours passed, localised in English and in Arabic", async () => {
    const shell = hudaWithMerges();
    const user = startApp();
    const log = await openActivity(user);
    await within(log).findByTestId("merge-log-undo");
    // The window closes while the page is open.
    shell.state.now += 22 * 3_600_000 + 60_000;
    await user.click(screen.getByTestId("merge-log-undo"));
    await user.click(screen.getByTestId("merge-log-undo-yes"));
    await waitFor(() =>
      expect(screen.getByTestId("merge-log-error").textContent).toBe(
        "This merge is more than 24 hours old and can no longer be undone.",
      ),
    );
    expect(shell.state.customers.get(shell.old.id)?.active).toBe(false);
    await user.click(screen.getByTestId("language"));
    await waitFor(() =>
      expect(screen.getByTestId("merge-log-error").textContent).toMatch(
        /^مضى على هذا الدمج أكثر من (24|٢٤) ساعة ولم يعد التراجع عنه ممكنًا\.$/,
      ),
    );
    expect(document.documentElement.dir).toBe("rtl");
  });

  it("in Arabic, right to left, the log and its undo refusal read in Arabic", async () => {
    setLocale("ar");
    const shell = hudaWithMerges();
    const user = startApp();
    const log = await openActivity(user, "النشاط");
    expect(within(log).getByRole("heading", { level: 3 }).textContent).toBe("عمليات الدمج على هذا الجهاز");
    await within(log).findByTestId("merge-log-undo");
    expect(within(log).getAllByTestId("merge-entry-who")[0].textContent?.trim()).toBe("بواسطة Maryam");
    shell.state.now += 23 * 3_600_000;
    await user.click(screen.getByTestId("merge-log-undo"));
    await user.click(screen.getByTestId("merge-log-undo-yes"));
    await waitFor(() =>
      expect(screen.getByTestId("merge-log-error").textContent).toMatch(/^مضى على هذا الدمج أكثر من (24|٢٤) ساعة/),
    );
  });

  it("a cashier reads the log but is offered no Undo", async () => {
    const { called } = hudaWithMerges(aisha);
    const user = startApp();
    await waitFor(() => expect(screen.getByTestId("signed-in").textContent).toContain("Aisha"));
    const log = await openActivity(user);
    await waitFor(() => expect(within(log).getAllByTestId("merge-entry")).toHaveLength(2));
    expect(within(log).queryByTestId("merge-log-undo")).toBeNull();
    expect(called("undo_merge")).toHaveLength(0);
  });
});
