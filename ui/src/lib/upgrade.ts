// The upgrade-to-full flow's logic, apart from its screen so it can be tested on its own.
import type { UpgradeRequest } from "../bindings/UpgradeRequest";
import { toAsciiDigits } from "./digits";

/** Whole seconds from `now` until `iso` (never negative); 0 when there is no time. */
export function secondsUntil(iso: string | null, now: number): number {
  if (!iso) return 0;
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return 0;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The code as typed (Arabic-Indic digits and spaces allowed), or null unless six digits. */
export function normalizeCode(typed: string): string | null {
  const s = toAsciiDigits(typed).replace(/\s+/g, "");
  return /^\d{6}$/.test(s) ? s : null;
}

/** The phone as a cashier may read it aloud without showing it whole: ••••3456. */
export function maskPhone(phone: string | null): string {
  if (!phone) return "";
  const digits = phone.replace(/\D/g, "");
  return `••••${digits.slice(-4)}`;
}

/** What the panel shows for a request: a message id and whether a code can be typed. */
export type UpgradeView =
  | { step: "waiting-for-sync" }
  | { step: "sending"; waitSeconds: number }
  | { step: "code"; resendIn: number; expiresIn: number }
  | { step: "verified" }
  | { step: "failed"; reason: string; resendIn: number }
  | { step: "expired"; resendIn: number };

/** The panel's step for `u` at time `now`. */
export function viewOf(u: UpgradeRequest, now: number): UpgradeView {
  const resendIn = secondsUntil(u.resendAfter, now);
  switch (u.state) {
    case "queued":
      return u.waitingForSync ? { step: "waiting-for-sync" } : { step: "sending", waitSeconds: resendIn };
    case "sent": {
      const expiresIn = secondsUntil(u.codeExpiresAt, now);
      if (u.codeExpiresAt && expiresIn === 0) return { step: "expired", resendIn };
      return { step: "code", resendIn, expiresIn };
    }
    case "verified":
      return { step: "verified" };
    case "failed":
      return { step: "failed", reason: u.errorCode ?? "", resendIn };
    case "expired":
      return { step: "expired", resendIn };
  }
}
