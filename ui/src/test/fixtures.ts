import { mockIPC } from "@tauri-apps/api/mocks";
import type { Customer } from "../bindings/Customer";
import type { StaffMember } from "../bindings/StaffMember";

let n = 0;

/** A customer as the shell returns it, with overrides. */
export function customer(over: Partial<Customer> = {}): Customer {
  n += 1;
  return {
    id: `0190a0b0-0000-7000-8000-${String(n).padStart(12, "0")}`,
    customerNumber: null,
    kind: "stub",
    firstName: "Ahmed",
    lastName: null,
    name2: null,
    phone: "+96890123456",
    email: null,
    phoneVerified: false,
    preferences: null,
    loyaltyPoints: 0,
    orderCount: 0,
    totalSpentMinor: 0,
    lastOrderAt: null,
    active: true,
    mergedInto: null,
    defaultAddressId: null,
    syncState: "pending",
    createdAt: "2026-11-25T10:00:00.000Z",
    updatedAt: "2026-11-25T10:00:00.000Z",
    ...over,
  };
}

/** What a fake shell's `handle` returns for a command it leaves to the common answers. */
export const UNHANDLED = Symbol("unhandled");

/**
 * A fake shell of a staffed, enrolled till with `staff` signed in: the answers every screen
 * asks for at start, then `handle` for the commands a test is about (it returns `UNHANDLED`
 * for the rest). Any other command fails the test. Records every call.
 */
export function signedInShell(
  staff: StaffMember,
  roster: StaffMember[],
  handle: (cmd: string, args: Record<string, unknown>) => unknown,
  opts: { pending?: number } = {},
) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      const answer = handle(cmd, args);
      if (answer !== UNHANDLED) return answer;
      switch (cmd) {
        case "staff_session":
          return { ownerPinRequired: false, signInRequired: true, staff };
        case "staff_roster":
          return roster;
        case "startup_problem":
        case "store_location":
          return null;
        case "time_zone":
          return "Asia/Muscat";
        case "sync_status":
          return { online: true, pending: opts.pending ?? 0, parked: 0, lastSuccess: null, cursor: 0, lastError: null };
        case "enrollment_info":
          return { enrolled: true, serverUrl: "https://shop.example.om" };
        case "parked_ops":
        case "search_customers":
          return [];
        case "key_place":
          return { kind: "credentialStore" };
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  return { calls, called: (cmd: string) => calls.filter((c) => c.cmd === cmd) };
}
