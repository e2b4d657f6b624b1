// Who is signed in at this till, shared by the header, the sign-in screen and every screen that
// offers a manager's action. The shell enforces the roles; the UI only hides what a role may not
// use, so a cashier is not offered buttons that would be refused.
import type { Role } from "../bindings/Role";
import type { StaffSession } from "../bindings/StaffSession";
import type { Backend } from "./backend";

export const staff = $state({
  session: null as StaffSession | null,
});

const RANK: Record<Role, number> = { cashier: 0, manager: 1, admin: 2 };

/** Re-reads the session; a failed read keeps what is shown. */
export async function refreshStaff(backend: Backend): Promise<void> {
  try {
    staff.session = await backend.staffSession();
  } catch {
    // Kept: the next refresh corrects it.
  }
}

/** Someone has to sign in (or, on a new standalone till, set the owner's PIN) first. */
export function signInNeeded(session: StaffSession | null = staff.session): boolean {
  return !!session?.ownerPinRequired || (!!session?.signInRequired && !session.staff);
}

/**
 * The till may be used for what needs `role`: it is open (no roster) or the signed-in role is
 * enough. While the session is not read yet (the first milliseconds) everything is offered; the
 * shell refuses what the role may not do anyway, with a localised error.
 */
export function can(role: Role, session: StaffSession | null = staff.session): boolean {
  if (!session) return true;
  if (session.ownerPinRequired) return false;
  if (!session.signInRequired) return true;
  return !!session.staff && RANK[session.staff.role] >= RANK[role];
}

/** A till left alone this long signs its staff member out (the next person must use their own PIN). */
export const IDLE_SIGN_OUT_MS = 15 * 60 * 1000;

/**
 * Calls `onIdle` once `ms` pass without a key press or pointer press on `target`. Returns the
 * stop function.
 */
export function whenIdle(target: EventTarget, ms: number, onIdle: () => void): () => void {
  let timer = setTimeout(onIdle, ms);
  const activity = () => {
    clearTimeout(timer);
    timer = setTimeout(onIdle, ms);
  };
  target.addEventListener("keydown", activity, true);
  target.addEventListener("pointerdown", activity, true);
  return () => {
    clearTimeout(timer);
    target.removeEventListener("keydown", activity, true);
    target.removeEventListener("pointerdown", activity, true);
  };
}
