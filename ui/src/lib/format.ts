// Locale-aware formatting of times, distances, operation kinds and server refusal codes.
import { hasMessage, i18n, t } from "./i18n.svelte";

/** The shop's time zone (IANA), whose days and hours every date is shown in: the till's
 * setting, which comes from the shop's server; Asia/Muscat until it is read. */
export const shopTime = { zone: "Asia/Muscat" };

/** Uses `zone` for every date shown from now on (an unknown zone keeps the current one). */
export function setShopTimeZone(zone: string): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    shopTime.zone = zone;
  } catch {
    // Kept: a zone this WebView does not know cannot be used.
  }
}

/** An RFC 3339 instant as the shop's date and time in the current language. */
export function dateTime(iso: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(i18n.locale, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: shopTime.zone,
  }).format(d);
}

/** An RFC 3339 instant as the shop's day, `YYYY-MM-DD` (as the exports write it). */
export function shopDay(iso: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso.slice(0, 10);
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    timeZone: shopTime.zone,
  }).format(d);
}

/** "12.3 km from the store", or metres under 1 km ("850 m from the store"). */
export function distanceText(km: number): string {
  const m = Math.round(km * 1000);
  if (m < 1000) return t("distance-m", { m });
  return t("distance-km", { km });
}

/** An operation kind (`address_added`) as a localised action name. */
export function opLabel(kind: string): string {
  const id = `op-${kind.replace(/_/g, "-")}`;
  return hasMessage(id) ? t(id) : kind;
}

/** An action in the server's audit log (`update`, `merge-source`) as a localised name. */
export function serverActionLabel(action: string): string {
  const id = `server-action-${action}`;
  return /^[a-z][a-z0-9-]*$/.test(action) && hasMessage(id) ? t(id) : action;
}

/** A server refusal code (`customer.phone-taken`, `validation.invalid-phone`) as a sentence. */
export function refusalText(code: string): string {
  const name = code.includes(".") ? code.slice(code.indexOf(".") + 1) : code;
  for (const id of [`error-${name}`, `server-error-${name}`]) {
    if (/^[a-z][a-z0-9-]*$/.test(name) && hasMessage(id)) return t(id);
  }
  return t("sync-parked-unknown", { code });
}

/** A changed field's name (`firstName`) as its localised label. */
export function fieldLabel(name: string): string {
  // The server's audit marks a whole new customer as `*`.
  if (name === "*") return t("activity-field-all");
  const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (const id of [`field-${kebab}`, `activity-field-${kebab}`]) {
    if (hasMessage(id)) return t(id);
  }
  return name;
}

/** Baisa as rials with 3 decimals in the current language ("12.345 OMR", "١٢٫٣٤٥ ر.ع."). */
export function omr(baisa: number): string {
  const amount = new Intl.NumberFormat(i18n.locale, { minimumFractionDigits: 3, maximumFractionDigits: 3 }).format(baisa / 1000);
  return t("orders-amount", { amount });
}
