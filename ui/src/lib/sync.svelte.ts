// The sync indicator's state, shared by the header, its panel and the Settings screen: the
// engine's status (from `sync-status` events, and re-read from the store so the pending count
// also moves while the till is not enrolled and no engine runs) and the enrollment.
import type { EngineStatus } from "../bindings/EngineStatus";
import type { EnrollmentInfo } from "../bindings/EnrollmentInfo";
import type { Backend } from "./backend";
import { t } from "./i18n.svelte";
import { refreshStaff } from "./staff.svelte";

export const sync = $state({
  status: null as EngineStatus | null,
  enrollment: null as EnrollmentInfo | null,
});

/** How often the store is re-read between events (a local COUNT, no network). */
export const REFRESH_MS = 2000;

/**
 * Re-reads status and enrollment, and who is signed in (a roster from the server can make
 * sign-in required, and a deactivation can end a session); a failed read keeps what is shown.
 */
export async function refreshSync(backend: Backend): Promise<void> {
  void refreshStaff(backend);
  try {
    const [status, enrollment] = await Promise.all([backend.syncStatus(), backend.enrollmentInfo()]);
    sync.status = status;
    sync.enrollment = enrollment;
  } catch {
    // The indicator keeps its last known state; the next refresh or event corrects it.
  }
}

/** Follows the shell: events as they come, plus a periodic re-read. Returns the stop function. */
export function followSync(backend: Backend): () => void {
  let stopped = false;
  let unlisten: (() => void) | null = null;
  void refreshSync(backend);
  void backend
    .onSyncStatus((status) => {
      sync.status = status;
      void refreshStaff(backend);
    })
    .then((u) => (stopped ? u() : (unlisten = u)))
    .catch(() => {});
  const timer = setInterval(() => void refreshSync(backend), REFRESH_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    try {
      // Unsubscribing is asynchronous in Tauri 2; a failure only means there is nothing left.
      void Promise.resolve(unlisten?.()).catch(() => {});
    } catch {
      // The shell is already gone (window closing): nothing left to unsubscribe from.
    }
  };
}

export type Connection = "not-enrolled" | "online" | "offline";

export function connection(): Connection {
  if (sync.enrollment && !sync.enrollment.enrolled) return "not-enrolled";
  return sync.status?.online ? "online" : "offline";
}

export function connectionLabel(c: Connection = connection()): string {
  return t(`sync-${c}`);
}

/** A localised sentence for the engine's last failure code (`network`, `http-503`, ...). */
export function problemText(code: string): string {
  if (code === "network") return t("sync-problem-network");
  if (code === "untrusted") return t("sync-problem-untrusted");
  const http = /^http-(\d{3})$/.exec(code);
  if (http) return t("sync-problem-http", { status: http[1] });
  return t("sync-problem-other", { code });
}

/** Backend calls that write to the device store (each adds to or clears the outbox). */
const WRITES = [
  "createGuest",
  "createStub",
  "updateCustomer",
  "deactivateCustomer",
  "reactivateCustomer",
  "mergeCustomers",
  "undoMerge",
  "recordOrder",
  "adjustPoints",
  "addAddress",
  "updateAddress",
  "deleteAddress",
  "setDefaultAddress",
  "retryParked",
  "discardParked",
  "enrollDevice",
  "resetEnrollment",
] as const satisfies readonly (keyof Backend)[];

/**
 * The same backend, re-reading the sync status after every write, so the pending count moves
 * the moment a change is saved (no engine emits events while the till is not enrolled).
 */
export function refreshingAfterWrites(backend: Backend): Backend {
  const wrapped: Backend = { ...backend };
  for (const name of WRITES) {
    const call = backend[name] as (...args: unknown[]) => Promise<unknown>;
    (wrapped as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      try {
        return await call(...args);
      } finally {
        void refreshSync(backend);
      }
    };
  }
  return wrapped;
}
