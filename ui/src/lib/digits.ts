// Arabic-Indic (٠-٩) and Persian (۰-۹) digits typed on an Arabic keyboard, as ASCII.
export function toAsciiDigits(input: string): string {
  return input
    .replace(/[\u0660-\u0669]/g, (c) => String(c.charCodeAt(0) - 0x0660))
    .replace(/[\u06f0-\u06f9]/g, (c) => String(c.charCodeAt(0) - 0x06f0))
    .replace(/\u066b/g, ".") // Arabic decimal separator
    .replace(/\u066c/g, ","); // Arabic thousands separator
}

/** A decimal number typed in any of the scripts; `null` when empty, `NaN` when not a number. */
export function parseDecimal(input: string): number | null {
  const s = toAsciiDigits(input).trim();
  if (s === "") return null;
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : Number.NaN;
}

/** True when the search text is phone digits (so F2 can carry it into the phone field). */
export function looksLikePhone(input: string): boolean {
  const s = toAsciiDigits(input).trim();
  return /^\+?[\d\s\-()]{4,}$/.test(s);
}

/**
 * The phone as typed, with the selected country code when the number has none. A national
 * trunk "0" is dropped after a code (050… in the UAE is +971 50…). Oman has no trunk prefix.
 */
export function composePhone(countryCode: string, typed: string): string {
  const s = toAsciiDigits(typed).trim();
  if (s === "" || s.startsWith("+") || s.startsWith("00")) return s;
  const national = s.replace(/^0(?=\d)/, "");
  return `${countryCode} ${national}`;
}

/** Wraps text in LEFT-TO-RIGHT ISOLATE … POP DIRECTIONAL ISOLATE, for places that cannot hold <bdi>. */
export function isolateLtr(text: string): string {
  return String.fromCharCode(0x2066) + text + String.fromCharCode(0x2069);
}
