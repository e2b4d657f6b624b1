import { describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import App from "../App.svelte";
import type { StaffMember } from "../bindings/StaffMember";
import type { StaffSession } from "../bindings/StaffSession";
import { tauriBackend } from "../lib/backend";
import { setLocale } from "../lib/i18n.svelte";
import { can, signInNeeded, whenIdle } from "../lib/staff.svelte";
import { customer } from "./fixtures";

const aisha: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000a1", name: "Aisha", role: "cashier" };
const salim: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000a2", name: "Salim", role: "manager" };
const PINS: Record<string, string> = { [aisha.id]: "2468", [salim.id]: "1357" };

/** A fake shell of a staffed till: the roster, PINs checked as the shell does, and a session. */
function staffedShell(roster: StaffMember[] = [aisha, salim]) {
  const session: StaffSession = { ownerPinRequired: false, signInRequired: true, staff: null };
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      switch (cmd) {
        case "staff_session":
          return { ...session };
        case "staff_roster":
          return roster;
        case "sign_in": {
          const member = roster.find((m) => m.id === args.staffId);
          // The shell reads Arabic-Indic digits as ASCII ones.
          const pin = String(args.pin).replace(/[\u0660-\u0669]/g, (c) => String(c.charCodeAt(0) - 0x0660));
          if (!member || PINS[member.id] !== pin) {
            throw { code: "auth.pin-wrong", message: { id: "error-pin-wrong", args: [] } };
          }
          session.staff = member;
          return member;
        }
        case "sign_out":
          session.staff = null;
          return { ...session };
        case "sync_status":
          return { online: true, pending: 0, parked: 0, lastSuccess: null, cursor: 0, lastError: null };
        case "enrollment_info":
          return { enrolled: true, serverUrl: "https://shop.example.om" };
        case "search_customers":
          return [];
        case "store_location":
          return null;
        case "key_place":
          return { kind: "credentialStore" };
        case "list_customers":
          return { items: [customer({ firstName: "Huda" })], next: null };
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  return { session, calls };
}

function setup() {
  const user = userEvent.setup();
  render(App, { props: { backend: tauriBackend } });
  return user;
}

describe("role checks", () => {
  it("an open till (no roster) offers everything; a staffed one only what the signed-in role may do", () => {
    expect(can("manager", { ownerPinRequired: false, signInRequired: false, staff: null })).toBe(true);
    expect(signInNeeded({ ownerPinRequired: false, signInRequired: false, staff: null })).toBe(false);
    expect(signInNeeded({ ownerPinRequired: false, signInRequired: true, staff: null })).toBe(true);
    expect(can("cashier", { ownerPinRequired: false, signInRequired: true, staff: null })).toBe(false);
    expect(can("cashier", { ownerPinRequired: false, signInRequired: true, staff: aisha })).toBe(true);
    expect(can("manager", { ownerPinRequired: false, signInRequired: true, staff: aisha })).toBe(false);
    expect(can("manager", { ownerPinRequired: false, signInRequired: true, staff: salim })).toBe(true);
    expect(can("manager", { ownerPinRequired: false, signInRequired: true, staff: { ...salim, role: "admin" } })).toBe(true);
  });
});

describe("signing out an idle till", () => {
  it("fires after the quiet time only, each key or pointer press starts it again, and stop cancels it", () => {
    vi.useFakeTimers();
    try {
      const target = new EventTarget();
      const onIdle = vi.fn();
      const stop = whenIdle(target, 1000, onIdle);
      vi.advanceTimersByTime(900);
      target.dispatchEvent(new Event("keydown"));
      vi.advanceTimersByTime(900);
      target.dispatchEvent(new Event("pointerdown"));
      vi.advanceTimersByTime(900);
      expect(onIdle).not.toHaveBeenCalled();
      vi.advanceTimersByTime(100);
      expect(onIdle).toHaveBeenCalledTimes(1);

      const onIdle2 = vi.fn();
      const stop2 = whenIdle(target, 1000, onIdle2);
      stop2();
      vi.advanceTimersByTime(5000);
      expect(onIdle2).not.toHaveBeenCalled();
      stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("sign-in at a staffed till", () => {
  it("shows only the sign-in screen until a right PIN, and function keys do nothing meanwhile", async () => {
    const shell = staffedShell();
    const user = setup();
    await screen.findByTestId("signin");
    await waitFor(() => expect(screen.getAllByTestId("signin-staff")).toHaveLength(2));
    expect(screen.queryByTestId("nav-settings")).toBeNull();
    await user.keyboard("{F2}");
    expect(screen.queryByTestId("stub-form")).toBeNull();
    expect(shell.calls.some((c) => c.cmd === "create_stub" || c.cmd === "search_customers")).toBe(false);

    await user.click(screen.getByRole("button", { name: /Aisha/ }));
    expect(document.activeElement).toBe(screen.getByTestId("signin-pin"));
    await user.keyboard("1111{Enter}");
    await waitFor(() => expect(screen.getByTestId("signin-error").textContent).toBe("That PIN is not right. Try again."));
    expect((screen.getByTestId("signin-pin") as HTMLInputElement).value).toBe("");
    expect(document.activeElement).toBe(screen.getByTestId("signin-pin"));

    await user.keyboard("2468{Enter}");
    await waitFor(() => expect(screen.queryByTestId("signin")).toBeNull());
    expect(screen.getByTestId("signed-in").textContent).toContain("Aisha");
    expect(screen.getByTestId("signed-in").textContent).toContain("cashier");
    expect(shell.calls.filter((c) => c.cmd === "sign_in").map((c) => c.args.pin)).toEqual(["1111", "2468"]);
  });

  it("a cashier gets the counter but no customer list, and F8 does nothing", async () => {
    staffedShell();
    const user = setup();
    await user.click(await screen.findByRole("button", { name: /Aisha/ }));
    await user.keyboard("2468{Enter}");
    await screen.findByTestId("signed-in");
    expect(screen.queryByTestId("nav-customers")).toBeNull();
    await user.keyboard("{F8}");
    expect(screen.queryByTestId("list-count")).toBeNull();
    await user.keyboard("{F9}");
    // Enrollment, backup and restore, the store location and the update address.
    expect((await screen.findAllByText("Only a manager can change this. Ask one to sign in.")).length).toBe(4);
    expect(screen.queryByTestId("enroll-form")).toBeNull();
    expect(screen.queryByTestId("backup-form")).toBeNull();
    expect(screen.queryByTestId("update-feed-form")).toBeNull();
  });

  it("a manager gets the list; signing out returns to the sign-in screen", async () => {
    staffedShell();
    const user = setup();
    await user.click(await screen.findByRole("button", { name: /Salim/ }));
    await user.keyboard("1357{Enter}");
    await screen.findByTestId("nav-customers");
    await user.keyboard("{F8}");
    await waitFor(() => expect(screen.getByTestId("list-count").textContent).toBe("1 customer shown"));
    await user.click(screen.getByTestId("sign-out"));
    await screen.findByTestId("signin");
    expect(screen.queryByTestId("signed-in")).toBeNull();
  });

  it("with one person on the roster the PIN field has the focus at once, and Arabic-Indic digits work", async () => {
    staffedShell([aisha]);
    setLocale("ar");
    const user = userEvent.setup();
    render(App, { props: { backend: tauriBackend } });
    await screen.findByText("من على الصندوق؟");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("signin-pin")));
    expect(document.documentElement.dir).toBe("rtl");
    await user.keyboard("٢٤٦٨{Enter}");
    await waitFor(() => expect(screen.getByTestId("signed-in").textContent).toContain("أمين الصندوق"));
    setLocale("en");
  });

  it("asks for a name before checking a PIN", async () => {
    const shell = staffedShell();
    const user = setup();
    await waitFor(() => expect(screen.getAllByTestId("signin-staff")).toHaveLength(2));
    await user.click(screen.getByTestId("signin-pin"));
    await user.keyboard("2468{Enter}");
    await waitFor(() => expect(screen.getByTestId("signin-error").textContent).toBe("Choose your name first."));
    expect(shell.calls.some((c) => c.cmd === "sign_in")).toBe(false);
  });
});

/** A fake shell of a new standalone till: no owner until `set_owner_pin` succeeds. */
function newTillShell() {
  const session: StaffSession = { ownerPinRequired: true, signInRequired: false, staff: null };
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      switch (cmd) {
        case "staff_session":
          return { ...session };
        case "set_owner_pin": {
          if (String(args.pin).length < 6) {
            throw { code: "staff.invalid-pin", message: { id: "error-pin-not-allowed", args: [["min", { type: "number", value: 6 }]] } };
          }
          const owner: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000a9", name: String(args.name), role: "admin" };
          Object.assign(session, { ownerPinRequired: false, signInRequired: true, staff: owner });
          return owner;
        }
        case "sync_status":
          return { online: false, pending: 0, parked: 0, lastSuccess: null, cursor: 0, lastError: null };
        case "enrollment_info":
          return { enrolled: false, serverUrl: null };
        case "search_customers":
          return [];
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  return { calls };
}

describe("the first start of a standalone till", () => {
  it("shows only the owner set-up, refuses a mismatch and a short PIN, then opens signed in as the owner", async () => {
    setLocale("en");
    const { calls } = newTillShell();
    const user = userEvent.setup();
    render(App, { props: { backend: tauriBackend } });
    await screen.findByTestId("owner-setup");
    expect(screen.queryByTestId("nav-settings")).toBeNull();
    expect(screen.queryByTestId("search")).toBeNull();

    await user.type(screen.getByTestId("owner-name"), "Huda");
    await user.type(screen.getByTestId("owner-pin"), "135790");
    await user.type(screen.getByTestId("owner-pin-again"), "135799{Enter}");
    expect(screen.getByTestId("owner-error").textContent).toBe("The two PINs are not the same. Type it again.");
    expect(calls.filter((c) => c.cmd === "set_owner_pin")).toHaveLength(0);

    await user.type(screen.getByTestId("owner-pin"), "12345");
    await user.type(screen.getByTestId("owner-pin-again"), "12345{Enter}");
    await waitFor(() => expect(screen.getByTestId("owner-error").textContent).toBe("The PIN must have at least 6 digits."));

    await user.type(screen.getByTestId("owner-pin"), "135790");
    await user.type(screen.getByTestId("owner-pin-again"), "135790{Enter}");
    await screen.findByTestId("search");
    expect(screen.queryByTestId("owner-setup")).toBeNull();
    expect(screen.getByTestId("signed-in").textContent).toContain("Huda");
    expect(calls.filter((c) => c.cmd === "set_owner_pin").at(-1)?.args).toEqual({ name: "Huda", pin: "135790" });
  });

  it("asks in Arabic, right to left", async () => {
    setLocale("ar");
    newTillShell();
    render(App, { props: { backend: tauriBackend } });
    const setup = await screen.findByTestId("owner-setup");
    expect(document.documentElement.dir).toBe("rtl");
    expect(setup.querySelector("h2")?.textContent).toBe("إعداد هذا الجهاز");
    setLocale("en");
  });
});
