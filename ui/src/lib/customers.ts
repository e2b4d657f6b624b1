// How a customer is shown: display name, number or "pending", kind and sync labels.
import type { Customer } from "../bindings/Customer";
import { shopDay } from "./format";
import { t } from "./i18n.svelte";

export function displayName(c: Customer): string {
  const latin = [c.firstName, c.lastName].filter(Boolean).join(" ");
  if (latin && c.name2) return `${latin} · ${c.name2}`;
  return latin || c.name2 || t("customer-guest-name");
}

export function customerNumber(c: Customer): string | null {
  return c.customerNumber ?? null;
}

/** What stands for a number not there yet: a walk-in guest gets one at its first order; any
 * other customer (or a guest whose order waits for the server) once the server numbers it. */
export function missingNumber(c: Customer): string {
  return c.kind === "guest" && c.orderCount === 0 ? t("customer-number-at-first-order") : t("customer-number-pending");
}

export function kindLabel(c: Customer): string {
  return t(`customer-kind-${c.kind}`);
}

export function syncLabel(c: Customer): string {
  return t(`sync-state-${c.syncState}`);
}

/** Dates stored as RFC 3339 UTC, shown as the shop's calendar day (not UTC's: in Muscat,
 * 02:00 on the 6th is 22:00 UTC on the 5th). */
export function shortDate(iso: string | null): string {
  return shopDay(iso);
}
