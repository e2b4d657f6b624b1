import { describe, expect, it, onTestFinished } from "vitest";
import { cleanup, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import App from "../App.svelte";
import type { AddressRecord } from "../bindings/AddressRecord";
import type { CommandError } from "../bindings/CommandError";
import type { OrderRecord } from "../bindings/OrderRecord";
import type { CustomerActivity } from "../bindings/CustomerActivity";
import type { EngineStatus } from "../bindings/EngineStatus";
import type { ParkedOp } from "../bindings/ParkedOp";
import type { ServerHistory } from "../bindings/ServerHistory";
import { tauriBackend } from "../lib/backend";
import { distanceText, refusalText } from "../lib/format";
import { setLocale } from "../lib/i18n.svelte";
import { staff } from "../lib/staff.svelte";
import { customer } from "./fixtures";

type Call = { cmd: string; args: Record<string, unknown> };

const status = (over: Partial<EngineStatus> = {}): EngineStatus => ({
  online: false,
  pending: 0,
  parked: 0,
  lastSuccess: null,
  cursor: 0,
  lastError: null,
  ...over,
});

const refused = (code: string, id: string, args: CommandError["message"]["args"] = []): CommandError => ({
  code,
  message: { id, args },
});

/** A fake shell for the desk: sync status, enrollment, parked ops, settings, one customer. */
function fakeShell(opts: {
  status?: EngineStatus;
  enrolled?: string | null;
  parked?: ParkedOp[];
  handlers?: Record<string, (args: Record<string, unknown>) => unknown>;
} = {}) {
  const calls: Call[] = [];
  const state = {
    status: opts.status ?? status(),
    enrolled: opts.enrolled ?? null,
    parked: [...(opts.parked ?? [])],
  };
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      const custom = opts.handlers?.[cmd];
      if (custom) return custom(args);
      switch (cmd) {
        case "sync_status":
          return { ...state.status, parked: state.parked.length };
        case "enrollment_info":
          return { enrolled: state.enrolled !== null, serverUrl: state.enrolled };
        case "parked_ops":
          return state.parked;
        case "retry_parked":
        case "discard_parked":
          state.parked = state.parked.filter((p) => p.deviceSeq !== args.deviceSeq);
          return null;
        case "store_location":
          return null;
        case "key_place":
          return { kind: "credentialStore" };
        case "enroll_device":
          return null;
        case "search_customers":
          return [];
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  return { calls, state, called: (cmd: string) => calls.filter((c) => c.cmd === cmd) };
}

function setup() {
  const user = userEvent.setup();
  render(App, { props: { backend: tauriBackend } });
  return user;
}

const parkedOp = (over: Partial<ParkedOp> = {}): ParkedOp => ({
  deviceSeq: 7,
  kind: "customer_updated",
  customerId: customer().id,
  errorCode: "customer.phone-taken",
  at: "2026-11-25T10:00:00.000Z",
  ...over,
});

describe("the sync indicator", () => {
  it("shows 'not enrolled' and the pending count of a till that was never enrolled", async () => {
    fakeShell({ status: status({ pending: 3 }) });
    setup();
    const indicator = screen.getByTestId("sync-indicator");
    await waitFor(() => expect(indicator.dataset.state).toBe("not-enrolled"));
    expect(screen.getByTestId("sync-connection").textContent).toBe("Not enrolled");
    expect(screen.getByTestId("sync-pending").textContent).toBe("3 changes waiting");
    expect(indicator.getAttribute("aria-label")).toBe("Sync status: Not enrolled. Open the sync panel.");
    expect(indicator.getAttribute("aria-expanded")).toBe("false");
  });

  it("follows sync-status events: offline with parked ops, then online with everything sent", async () => {
    fakeShell({ enrolled: "https://shop.example.om", status: status({ pending: 2, lastError: "network" }) });
    setup();
    const indicator = screen.getByTestId("sync-indicator");
    await waitFor(() => expect(indicator.dataset.state).toBe("offline"));
    expect(screen.getByTestId("sync-pending").textContent).toBe("2 changes waiting");

    await emit("sync-status", status({ online: false, pending: 1, parked: 1, lastError: "http-503" }));
    await waitFor(() => expect(screen.getByTestId("sync-parked").textContent).toBe("1 needs attention"));
    expect(indicator.classList.contains("attention")).toBe(true);

    await emit("sync-status", status({ online: true, lastSuccess: "2026-11-25T10:00:00.000Z" }));
    await waitFor(() => expect(indicator.dataset.state).toBe("online"));
    expect(screen.getByTestId("sync-pending").textContent).toBe("All changes sent");
    expect(screen.queryByTestId("sync-parked")).toBeNull();
  });

  it("opens from the keyboard, explains the last problem, and Escape returns the focus to it", async () => {
    fakeShell({ enrolled: "https://shop.example.om", status: status({ lastError: "network" }) });
    const user = setup();
    const indicator = screen.getByTestId("sync-indicator");
    await waitFor(() => expect(indicator.dataset.state).toBe("offline"));
    indicator.focus();
    await user.keyboard("{Enter}");
    const panel = await screen.findByRole("dialog", { name: "Sync" });
    expect(indicator.getAttribute("aria-expanded")).toBe("true");
    expect(within(panel).getByTestId("sync-problem").textContent).toContain("The server cannot be reached");
    expect(within(panel).getByTestId("sync-last").textContent).toContain("Never synced");
    expect(within(panel).getByTestId("parked-none").textContent).toBe("No refused changes.");
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(document.activeElement).toBe(indicator);
  });
});

describe("the parked-operations panel", () => {
  it("shows what was refused and why in the user's language, and retry re-queues it", async () => {
    const shell = fakeShell({ enrolled: "https://shop.example.om", parked: [parkedOp()] });
    const user = setup();
    await user.click(screen.getByTestId("sync-indicator"));
    const op = await screen.findByTestId("parked-op");
    expect(op.textContent).toContain("Profile changed");
    expect(within(op).getByTestId("parked-reason").textContent).toBe(
      "Another active customer already has this phone number.",
    );
    await user.click(within(op).getByTestId("parked-retry"));
    await waitFor(() => expect(screen.getByTestId("sync-notice").textContent).toBe("The change was queued again."));
    expect(shell.called("retry_parked").map((c) => c.args)).toEqual([{ deviceSeq: 7 }]);
    expect(screen.queryByTestId("parked-op")).toBeNull();
  });

  it("discards only after confirmation, and 'keep it' discards nothing", async () => {
    const shell = fakeShell({ enrolled: "https://shop.example.om", parked: [parkedOp({ deviceSeq: 9 })] });
    const user = setup();
    await user.click(screen.getByTestId("sync-indicator"));
    await user.click(await screen.findByTestId("parked-discard"));
    expect(screen.getByText("Discard this change? It will never reach the server.")).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByTestId("parked-discard-no"));
    await user.click(screen.getByTestId("parked-discard-no"));
    expect(shell.called("discard_parked")).toHaveLength(0);
    expect(screen.getByTestId("parked-op")).toBeTruthy();

    await user.click(screen.getByTestId("parked-discard"));
    await user.click(screen.getByTestId("parked-discard-yes"));
    await waitFor(() => expect(screen.getByTestId("sync-notice").textContent).toBe("The change was discarded."));
    expect(shell.called("discard_parked").map((c) => c.args)).toEqual([{ deviceSeq: 9 }]);
  });

  it("localises refusal codes from the server and falls back to showing an unknown code", () => {
    expect(refusalText("customer.phone-taken")).toBe("Another active customer already has this phone number.");
    expect(refusalText("validation.invalid-phone")).toBe("This phone number is not valid. Check the digits and the country code.");
    expect(refusalText("request.invalid-body")).toContain("The request body has a missing field");
    expect(refusalText("op.constraint")).toBe("The server refused this change (code op.constraint).");
    setLocale("ar");
    expect(refusalText("customer.phone-taken")).not.toContain("phone");
  });
});

describe("the settings screen", () => {
  it("switches the whole app to Arabic, right to left, and back", async () => {
    fakeShell();
    const user = setup();
    await user.keyboard("{F9}");
    await user.click(await screen.findByTestId("settings-language-ar"));
    expect(document.documentElement.dir).toBe("rtl");
    expect(document.documentElement.lang).toBe("ar");
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("الإعدادات");
    expect(screen.getByTestId("sync-connection").textContent).toBe("غير مسجّل");
    await user.click(screen.getByTestId("settings-language-en"));
    expect(document.documentElement.dir).toBe("ltr");
  });

  it("asks for every enrollment field before calling the server", async () => {
    const shell = fakeShell();
    const user = setup();
    await user.keyboard("{F9}");
    await user.type(await screen.findByTestId("enroll-server"), "https://shop.example.om");
    await user.click(screen.getByTestId("enroll-submit"));
    expect(screen.getByTestId("enroll-error").textContent).toBe("Shop code is required.");
    expect(shell.called("enroll_device")).toHaveLength(0);
  });

  it("shows a refused enrollment code as a localised error and stays not enrolled", async () => {
    const shell = fakeShell({
      handlers: {
        enroll_device: () => {
          throw refused("device.enrollment-refused", "error-enrollment-refused");
        },
      },
    });
    setLocale("ar");
    const user = setup();
    await user.keyboard("{F9}");
    await user.type(await screen.findByTestId("enroll-server"), "https://shop.example.om");
    await user.type(screen.getByTestId("enroll-tenant"), "muscat-1");
    await user.type(screen.getByTestId("enroll-code"), "ABC123");
    await user.click(screen.getByTestId("enroll-submit"));
    await waitFor(() =>
      expect(screen.getByTestId("enroll-error").textContent).toBe(
        "رفض الخادم رمز التسجيل هذا. تحقق من اسم المتجر والرمز، أو اطلب رمزاً جديداً.",
      ),
    );
    expect(shell.called("enroll_device")[0].args).toEqual({
      serverUrl: "https://shop.example.om",
      tenant: "muscat-1",
      code: "ABC123",
    });
    expect(screen.getByTestId("enroll-form")).toBeTruthy();
  });

  it("enrolls and then shows the server it is enrolled with", async () => {
    const shell = fakeShell();
    const user = setup();
    shell.state.enrolled = null;
    await user.keyboard("{F9}");
    await user.type(await screen.findByTestId("enroll-server"), "https://shop.example.om");
    await user.type(screen.getByTestId("enroll-tenant"), "muscat-1");
    await user.type(screen.getByTestId("enroll-code"), "ABC123");
    const handlersEnroll = shell.calls.length;
    shell.state.enrolled = "https://shop.example.om";
    await user.click(screen.getByTestId("enroll-submit"));
    expect(shell.calls.length).toBeGreaterThan(handlersEnroll);
    await waitFor(() => expect(screen.getByTestId("enrollment-server").textContent).toBe("https://shop.example.om"));
    expect(screen.getByTestId("enroll-notice").textContent).toBe("Enrolled. Sync has started.");
    expect(screen.getByTestId("enrollment-server").getAttribute("dir")).toBe("ltr");
  });

  it("refuses to reset with unsynced changes until the user forces it after a warning", async () => {
    const resets: boolean[] = [];
    const shell = fakeShell({
      enrolled: "https://shop.example.om",
      handlers: {
        reset_enrollment: (args) => {
          resets.push(args.force as boolean);
          if (!args.force) throw refused("sync.unsynced-ops", "error-unsynced-ops", [["pending", { type: "number", value: 2 }]]);
          shell.state.enrolled = null;
          return null;
        },
      },
    });
    const user = setup();
    await user.keyboard("{F9}");
    await user.click(await screen.findByTestId("reset-enrollment"));
    const warning = await screen.findByTestId("reset-warning");
    expect(warning.textContent).toContain("2 changes have not reached the server. Resetting now loses them for good.");
    expect(document.activeElement).toBe(screen.getByTestId("reset-force"));
    await user.click(screen.getByTestId("reset-cancel"));
    expect(resets).toEqual([false]);
    await user.click(screen.getByTestId("reset-enrollment"));
    await user.click(await screen.findByTestId("reset-force"));
    await waitFor(() => expect(screen.getByTestId("enroll-notice").textContent).toBe("Enrollment reset. The till works on its own."));
    expect(resets).toEqual([false, false, true]);
    await waitFor(() => expect(screen.getByTestId("enroll-form")).toBeTruthy());
  });

  it("says the data is encrypted, and warns in both languages when the key is kept in a file", async () => {
    fakeShell();
    const user = setup();
    await user.keyboard("{F9}");
    const safe = await screen.findByTestId("key-place");
    expect(safe.dataset.kind).toBe("credentialStore");
    expect(safe.classList.contains("warning")).toBe(false);
    expect(safe.textContent).toContain("encrypted");
    cleanup();

    fakeShell({ handlers: { key_place: () => ({ kind: "file", path: "/home/till/.local/share/om.dukkan.desk/dukkan.sqlite3.key" }) } });
    const user2 = setup();
    await user2.keyboard("{F9}");
    const warned = await screen.findByTestId("key-place");
    expect(warned.dataset.kind).toBe("file");
    expect(warned.classList.contains("warning")).toBe(true);
    expect(warned.textContent).toContain("no credential store");
    expect(warned.textContent).toContain("/home/till/.local/share/om.dukkan.desk/dukkan.sqlite3.key");
    await user2.click(screen.getByTestId("settings-language-ar"));
    await waitFor(() => expect(screen.getByTestId("key-place").textContent).toContain("لا يوجد مخزن لبيانات الاعتماد"));
  });

  it("sends the store location as typed (Arabic-Indic digits too) and shows the shell's validation error", async () => {
    const shell = fakeShell({
      handlers: {
        set_store_location: (args) => {
          if (args.latitude === "NaN") {
            throw refused("validation.not-a-number", "error-not-a-number", [["field", { type: "message", value: "field-latitude" }]]);
          }
          if (args.latitude === "95") {
            throw refused("validation.out-of-range", "error-out-of-range", [["field", { type: "message", value: "field-latitude" }]]);
          }
          return { latitude: 23.588, longitude: 58.3829 };
        },
      },
    });
    const user = setup();
    await user.keyboard("{F9}");
    const lat = await screen.findByTestId("store-latitude");
    const lon = screen.getByTestId("store-longitude");
    expect(screen.getByTestId("store-current").textContent).toContain("No store location yet.");

    await user.type(lat, "NaN");
    await user.type(lon, "58");
    await user.click(screen.getByTestId("store-save"));
    await waitFor(() => expect(screen.getByTestId("store-error").textContent).toBe("Latitude must be a number, for example 23.5880."));
    expect(screen.getByTestId("store-current").textContent).toContain("No store location yet.");

    await user.clear(lat);
    await user.type(lat, "95");
    await user.click(screen.getByTestId("store-save"));
    await waitFor(() => expect(screen.getByTestId("store-error").textContent).toBe("Latitude is out of range."));

    await user.clear(lat);
    await user.clear(lon);
    await user.type(lat, "٢٣٫٥٨٨");
    await user.type(lon, "58.3829{Enter}");
    await waitFor(() => expect(screen.getByTestId("store-notice").textContent).toBe("Store location saved."));
    expect(shell.called("set_store_location").at(-1)?.args).toEqual({ latitude: "٢٣٫٥٨٨", longitude: "58.3829" });
    expect(screen.getByTestId("store-current").textContent).toContain("23.588, 58.3829");
    expect(screen.getByTestId("store-error").textContent?.trim()).toBe("");
  });
});

describe("distances from the store", () => {
  it("are shown in km with one decimal, or in metres under 1 km, in both languages", () => {
    expect(distanceText(12.345)).toBe("12.3 km from the store");
    expect(distanceText(1.0)).toBe("1.0 km from the store");
    expect(distanceText(0.9996)).toBe("1.0 km from the store");
    expect(distanceText(0.85)).toBe("850 m from the store");
    expect(distanceText(0.0004)).toBe("0 m from the store");
    expect(distanceText(1234.56)).toBe("1,234.6 km from the store");
    setLocale("ar");
    expect(distanceText(12.345)).toMatch(/^على بُعد (12\.3|١٢٫٣) كم من المتجر$/);
    expect(distanceText(0.85)).toMatch(/^على بُعد (850|٨٥٠) م من المتجر$/);
  });
});

function address(over: Partial<AddressRecord> = {}): AddressRecord {
  return {
    id: "0190a0b0-0000-7000-8000-00000000a001",
    customerId: "",
    isDefault: true,
    createdAt: "2026-11-25T10:00:00.000Z",
    updatedAt: "2026-11-25T10:00:00.000Z",
    addressType: "home",
    label: null,
    building: null,
    floor: null,
    apartment: null,
    street: "Way 3021",
    area: "Qurum",
    city: "Muscat",
    country: "OM",
    postalCode: null,
    gps: { latitude: 23.6, longitude: 58.4 },
    deliveryNotes: null,
    ...over,
  };
}

describe("the customer detail", () => {
  const c = customer({ firstName: "Salim", phone: "+96899887766" });
  const activity: CustomerActivity = {
    audit: [
      { at: "2026-11-25T10:05:00.000Z", staffId: null, staffName: null, deviceId: "d1", entity: "address", action: "address_added", fields: ["area", "latitude", "longitude"] },
      { at: "2026-11-25T10:01:00.000Z", staffId: "0190a0b0-0000-7000-8000-0000000000a7", staffName: "Huda", deviceId: "d1", entity: "customer", action: "customer_updated", fields: ["email", "lastName"] },
      { at: "2026-11-25T10:00:00.000Z", staffId: "0190a0b0-0000-7000-8000-0000000000a8", staffName: null, deviceId: "d1", entity: "customer", action: "customer_created", fields: ["kind", "firstName", "phone"] },
    ],
    sync: [
      { deviceSeq: 3, kind: "address_added", at: "2026-11-25T10:05:00.000Z", state: "pending", errorCode: null, attempts: 0 },
      { deviceSeq: 2, kind: "customer_updated", at: "2026-11-25T10:01:00.000Z", state: "parked", errorCode: "customer.phone-taken", attempts: 2 },
      { deviceSeq: null, kind: "customer_created", at: "2026-11-25T10:00:00.000Z", state: "acknowledged", errorCode: null, attempts: 0 },
    ],
  };

  function detailShell(distances: { addressId: string; km: number }[]) {
    return fakeShell({
      handlers: {
        search_customers: () => [{ matched: "phoneLast4", customer: c }],
        customer_details: () => ({ customer: c, addresses: [address({ customerId: c.id }), address({ id: "0190a0b0-0000-7000-8000-00000000a002", isDefault: false, gps: null, area: "Ruwi" })], upgrade: null }),
        address_distances: () => distances,
        customer_activity: () => activity,
      },
    });
  }

  async function openDetail(user: ReturnType<typeof userEvent.setup>) {
    await user.type(screen.getByTestId("search"), "7766");
    await screen.findAllByTestId("result");
    await user.keyboard("{Enter}");
    await screen.findByTestId("detail-name");
  }

  it("asks before deactivating from the detail page, and keeps the customer when told to", async () => {
    const { called } = fakeShell({
      handlers: {
        search_customers: () => [{ matched: "phoneLast4", customer: c }],
        customer_details: () => ({ customer: c, addresses: [], upgrade: null }),
        address_distances: () => [],
        customer_activity: () => activity,
        deactivate_customer: () => ({ ...c, active: false }),
      },
    });
    const user = setup();
    await openDetail(user);
    await user.click(screen.getByTestId("detail-deactivate"));
    expect(screen.getByRole("alertdialog").textContent).toContain("Deactivate Salim?");
    expect(called("deactivate_customer")).toHaveLength(0);
    await user.click(screen.getByTestId("detail-deactivate-no"));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(called("deactivate_customer")).toHaveLength(0);
    await user.click(screen.getByTestId("detail-deactivate"));
    // The confirming button has the focus: Enter confirms.
    expect(document.activeElement).toBe(screen.getByTestId("detail-deactivate-yes"));
    await user.keyboard("{Enter}");
    await waitFor(() => expect(called("deactivate_customer")).toHaveLength(1));
  });

  it("shows the distance from the store on addresses with GPS only", async () => {
    detailShell([{ addressId: "0190a0b0-0000-7000-8000-00000000a001", km: 2.46 }]);
    const user = setup();
    await openDetail(user);
    await user.click(screen.getByRole("tab", { name: "Addresses" }));
    const distances = await screen.findAllByTestId("distance");
    expect(distances.map((d) => d.textContent)).toEqual(["2.5 km from the store"]);
    expect(screen.getAllByTestId("address")).toHaveLength(2);
  });

  it("lists audit entries and sync history newest first with localised actions, and never values", async () => {
    detailShell([]);
    const user = setup();
    await openDetail(user);
    await user.click(screen.getByRole("tab", { name: "Activity" }));
    const rows = await screen.findAllByTestId("audit-entry");
    expect(rows.map((r) => within(r).getByTestId("audit-action").textContent)).toEqual([
      "Address added",
      "Profile changed",
      "Customer created",
    ]);
    expect(within(rows[1]).getByTestId("audit-fields").textContent).toBe("Email, Last name");
    expect(within(rows[0]).getByTestId("audit-fields").textContent).toBe("Area, Latitude, Longitude");
    expect(rows[0].textContent).toContain("No one signed in");
    // Who: the staff member's name, not their id; someone no longer on the roster by a short id.
    expect(within(rows[1]).getByTestId("audit-who").textContent).toBe("Huda");
    expect(rows[1].textContent).not.toContain("0190a0b0");
    expect(within(rows[2]).getByTestId("audit-who").textContent).toBe("Former staff member (0190a0b0)");
    const sync = screen.getAllByTestId("sync-entry");
    expect(sync.map((r) => r.dataset.state)).toEqual(["pending", "parked", "acknowledged"]);
    expect(sync[0].textContent).toContain("Waiting to send");
    expect(within(sync[1]).getByTestId("sync-entry-reason").textContent).toBe(
      "Another active customer already has this phone number. · 2 attempts",
    );
    expect(sync[2].textContent).toContain("Acknowledged by the server");
  });

  it("records a drop-off order on the Orders tab, shows the refusal of a bad amount, and adjusts points", async () => {
    let current = { ...c, orderCount: 1, totalSpentMinor: 3_000, loyaltyPoints: 3, lastOrderAt: "2026-11-25T10:00:00.000Z" };
    const orders: OrderRecord[] = [
      { id: "0190a0b0-0000-7000-8000-0000000000f1", ticket: "BEEF-00001", amountBaisa: 3_000, pieces: 2, note: null, points: 3, createdAt: "2026-11-25T10:00:00.000Z" },
    ];
    const { called } = fakeShell({
      handlers: {
        search_customers: () => [{ matched: "phoneLast4", customer: current }],
        customer_details: () => ({ customer: current, addresses: [], upgrade: null }),
        address_distances: () => [],
        customer_activity: () => activity,
        customer_orders: () => [...orders],
        next_ticket: () => `BEEF-0000${orders.length + 1}`,
        record_order: (args) => {
          const input = args.input as { amount: string; pieces: string; ticket: string | null; note: string | null };
          if (input.amount === "abc") {
            throw { code: "validation.not-a-number", message: { id: "error-not-a-number", args: [["field", { type: "message", value: "field-amount" }]] } };
          }
          const o = { id: "0190a0b0-0000-7000-8000-0000000000f2", ticket: input.ticket ?? "BEEF-00002", amountBaisa: 4_500, pieces: Number(input.pieces), note: input.note, points: 4, createdAt: "2026-11-25T11:00:00.000Z" };
          orders.unshift(o);
          current = { ...current, orderCount: 2, totalSpentMinor: 7_500, loyaltyPoints: 7, lastOrderAt: o.createdAt };
          return o;
        },
        adjust_points: (args) => {
          current = { ...current, loyaltyPoints: current.loyaltyPoints + Number(args.delta) };
          return current.loyaltyPoints;
        },
      },
    });
    const user = setup();
    await openDetail(user);
    await user.click(screen.getByRole("tab", { name: "Orders" }));
    expect((await screen.findByTestId("orders-summary")).textContent).toContain("One order · 3.000 OMR spent · 3 points");
    expect(screen.getAllByTestId("order-row")).toHaveLength(1);
    expect(screen.getByTestId("order-ticket").getAttribute("placeholder")).toBe("BEEF-00002");

    await user.type(screen.getByTestId("order-amount"), "abc");
    await user.click(screen.getByTestId("order-record"));
    await waitFor(() => expect(screen.getByTestId("orders-error").textContent).toContain("Amount"));
    expect(screen.getAllByTestId("order-row")).toHaveLength(1);

    await user.clear(screen.getByTestId("order-amount"));
    await user.type(screen.getByTestId("order-amount"), "4.5");
    await user.clear(screen.getByTestId("order-pieces"));
    await user.type(screen.getByTestId("order-pieces"), "3{Enter}");
    await waitFor(() => expect(screen.getByTestId("orders-notice").textContent).toBe("Order \u2066BEEF-00002\u2069 recorded: 4.500 OMR, 4 points."));
    expect(called("record_order").at(-1)?.args).toEqual({
      customerId: c.id,
      input: { ticket: null, amount: "4.5", pieces: "3", note: null },
    });
    await waitFor(() => expect(screen.getAllByTestId("order-row")).toHaveLength(2));
    expect(screen.getAllByTestId("order-row-amount").map((a) => a.textContent)).toEqual(["4.500 OMR", "3.000 OMR"]);
    expect(screen.getByTestId("orders-summary").textContent).toContain("2 orders · 7.500 OMR spent · 7 points");

    await user.type(screen.getByTestId("points-delta"), "-2");
    await user.type(screen.getByTestId("points-reason"), "returned shirt{Enter}");
    await waitFor(() => expect(screen.getByTestId("orders-notice").textContent).toBe("Points now: 5."));
    expect(called("adjust_points").at(-1)?.args).toEqual({ customerId: c.id, delta: "-2", reason: "returned shirt" });
  });

  it("renders the Activity tab right to left with Arabic labels", async () => {
    detailShell([]);
    setLocale("ar");
    const user = setup();
    await openDetail(user);
    await user.click(screen.getByRole("tab", { name: "النشاط" }));
    const rows = await screen.findAllByTestId("audit-entry");
    expect(document.documentElement.dir).toBe("rtl");
    expect(within(rows[0]).getByTestId("audit-action").textContent).toBe("إضافة عنوان");
    expect(within(rows[2]).getByTestId("audit-fields").textContent).toBe("النوع، الاسم الأول، الهاتف");
    expect(screen.getAllByTestId("sync-entry")[1].textContent).toContain("رفضه الخادم");
    expect(screen.getAllByRole("columnheader", { name: "الإجراء" })).toHaveLength(2);
  });

  const serverHistory: ServerHistory = {
    audit: [
      { at: "2026-11-25T11:00:00Z", entity: "customer", entityId: c.id, action: "order", fields: ["orders", "loyaltyPoints"], staffId: "0190a0b0-0000-7000-8000-0000000000a7", staffName: "Huda", deviceId: "0190a0b0-0000-7000-8000-0000000000d2", deviceName: "Front counter" },
      { at: "2026-11-25T10:30:00Z", entity: "customer", entityId: c.id, action: "update", fields: ["lastName"], staffId: "0190a0b0-0000-7000-8000-0000000000a9", staffName: null, deviceId: null, deviceName: null },
      { at: "2026-11-25T10:00:00Z", entity: "customer", entityId: c.id, action: "create", fields: ["*"], staffId: null, staffName: null, deviceId: "0190a0b0-0000-7000-8000-0000000000d2", deviceName: "Front counter" },
    ],
    merges: [
      { id: "0190a0b0-0000-7000-8000-0000000000e1", sourceCustomerId: "0190a0b0-0000-7000-8000-0000000000c9", targetCustomerId: c.id, reason: "same person", mergedBy: null, mergedAt: "2026-11-25T12:00:00Z", ordersMoved: 2, loyaltyPointsMerged: 7, undoneAt: null },
    ],
  };

  /** A shell with a signed-in `role` (the session is shared module state: forgotten after the test). */
  function signedIn(role: "manager" | "cashier") {
    onTestFinished(() => {
      staff.session = null;
    });
    return () => ({ ownerPinRequired: false, signInRequired: true, staff: { id: "0190a0b0-0000-7000-8000-0000000000a7", name: "Huda", role } });
  }

  function serverShell(server_history: () => unknown) {
    return fakeShell({
      handlers: {
        search_customers: () => [{ matched: "phoneLast4", customer: c }],
        customer_details: () => ({ customer: c, addresses: [], upgrade: null }),
        address_distances: () => [],
        customer_activity: () => activity,
        staff_session: signedIn("manager"),
        server_history,
      },
    });
  }

  it("shows a manager the server's history with staff and till names and localised actions, in English and Arabic", async () => {
    const { called } = serverShell(() => serverHistory);
    const user = setup();
    await openDetail(user);
    await user.click(screen.getByRole("tab", { name: "Activity" }));
    const rows = await screen.findAllByTestId("server-audit-entry");
    expect(called("server_history").at(-1)?.args).toEqual({ id: c.id });
    expect(rows.map((r) => within(r).getByTestId("server-audit-action").textContent)).toEqual([
      "Order recorded",
      "Profile changed",
      "Customer created",
    ]);
    expect(rows.map((r) => within(r).getByTestId("server-audit-who").textContent?.trim())).toEqual([
      "Huda",
      "Former staff member (0190a0b0)",
      "No one signed in",
    ]);
    expect(within(rows[0]).getByTestId("server-audit-till").textContent).toBe("Front counter");
    expect(within(rows[0]).getByTestId("server-audit-fields").textContent).toBe("Orders, Points");
    expect(within(rows[2]).getByTestId("server-audit-fields").textContent).toBe("All fields");
    const merge = screen.getByTestId("server-merge");
    expect(merge.textContent).toContain("Duplicate (0190a0b0) merged into this customer");
    expect(merge.textContent).toContain("Orders moved: 2 · Points moved: 7");
    // The till's own sections stay.
    expect(screen.getAllByTestId("audit-entry")).toHaveLength(3);
    expect(screen.getAllByTestId("sync-entry")).toHaveLength(3);

    cleanup();
    setLocale("ar");
    const again = setup();
    await openDetail(again);
    await again.click(screen.getByRole("tab", { name: "النشاط" }));
    const ar = await screen.findAllByTestId("server-audit-entry");
    expect(screen.getByTestId("server-history").textContent).toContain("على الخادم");
    expect(ar.map((r) => within(r).getByTestId("server-audit-action").textContent)).toEqual([
      "تسجيل طلب",
      "تعديل الملف",
      "إنشاء عميل",
    ]);
    expect(within(ar[0]).getByTestId("server-audit-who").textContent?.trim()).toBe("Huda");
    expect(within(ar[0]).getByTestId("server-audit-fields").textContent).toBe("الطلبات، النقاط");
    expect(screen.getAllByRole("columnheader", { name: "نقطة البيع" })).toHaveLength(1);
  });

  it("says the server cannot be reached, localised, and keeps the till's own history", async () => {
    serverShell(() => {
      throw { code: "sync.server-unreachable", message: { id: "error-server-unreachable", args: [] } } satisfies CommandError;
    });
    const user = setup();
    await openDetail(user);
    await user.click(screen.getByRole("tab", { name: "Activity" }));
    expect((await screen.findByTestId("server-history-message")).textContent).toBe(
      "The server cannot be reached now, so its history is not shown. This till's own changes are above.",
    );
    expect(screen.queryAllByTestId("server-audit-entry")).toHaveLength(0);
    expect(screen.getAllByTestId("audit-entry")).toHaveLength(3);
    expect(screen.getAllByTestId("sync-entry")).toHaveLength(3);
  });

  it("does not ask the server for a cashier", async () => {
    const { called } = fakeShell({
      handlers: {
        search_customers: () => [{ matched: "phoneLast4", customer: c }],
        customer_details: () => ({ customer: c, addresses: [], upgrade: null }),
        address_distances: () => [],
        customer_activity: () => activity,
        staff_session: signedIn("cashier"),
      },
    });
    const user = setup();
    await openDetail(user);
    await user.click(screen.getByRole("tab", { name: "Activity" }));
    await screen.findAllByTestId("audit-entry");
    expect(screen.queryByTestId("server-history")).toBeNull();
    expect(called("server_history")).toHaveLength(0);
  });
});

describe("the pending count", () => {
  it("moves as soon as a customer is saved, without waiting for the periodic re-read", async () => {
    let pending = 0;
    fakeShell({
      handlers: {
        sync_status: () => status({ pending }),
        create_stub: () => {
          pending += 1;
          return { outcome: "created", customer: customer({ firstName: "Huda" }) };
        },
      },
    });
    const user = setup();
    await waitFor(() => expect(screen.getByTestId("sync-pending").textContent).toBe("All changes sent"));
    await user.keyboard("{F2}");
    await user.type(await screen.findByTestId("first-name"), "Huda");
    await user.type(screen.getByTestId("phone"), "92345678{Enter}");
    await screen.findByTestId("confirmation");
    // Well under the 2 s re-read interval.
    await waitFor(() => expect(screen.getByTestId("sync-pending").textContent).toBe("1 change waiting"), { timeout: 500 });
  });
});

describe("a till whose data cannot be opened", () => {
  it("shows why, where the data is and that nothing changed, in English and Arabic, and offers no desk", async () => {
    fakeShell({
      handlers: {
        startup_problem: () => ({
          code: "storage.key-missing",
          message: { id: "error-store-key-missing", args: [] },
          store: "C:\\Users\\till\\AppData\\Roaming\\om.dukkan\\dukkan.sqlite3",
        }),
      },
    });
    const user = setup();
    const shown = await screen.findByTestId("startup-problem");
    expect(shown.dataset.code).toBe("storage.key-missing");
    expect(screen.getByTestId("startup-problem-message").textContent).toContain("credential store");
    expect(screen.getByTestId("startup-problem-store").textContent).toContain("dukkan.sqlite3");
    expect(screen.queryByTestId("search")).toBeNull();
    expect(screen.queryByTestId("nav-settings")).toBeNull();
    expect(screen.queryByTestId("sync-indicator")).toBeNull();
    // The function keys do nothing either.
    await user.keyboard("{F2}");
    expect(screen.queryByTestId("first-name")).toBeNull();
    await user.click(screen.getByTestId("language"));
    expect(screen.getByTestId("startup-problem").textContent).toContain("تعذّر فتح بيانات");
    setLocale("en");
  });

  it("shows the desk when the till started normally", async () => {
    fakeShell({ handlers: { startup_problem: () => null } });
    setup();
    await screen.findByTestId("search");
    expect(screen.queryByTestId("startup-problem")).toBeNull();
  });
});

describe("a second launch on the same till", () => {
  it("says the app is already open, in the window that was focused", async () => {
    fakeShell();
    setup();
    expect(screen.queryByTestId("second-launch")).toBeNull();
    await waitFor(async () => {
      await emit("second-launch", null);
      expect(screen.getByTestId("second-launch").textContent).toBe("Dukkan is already open on this till: here it is.");
    });
  });
});
