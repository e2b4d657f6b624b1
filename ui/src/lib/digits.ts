// Arabic-Indic (٠-٩) and Persian (۰-۹) digits typed on an Arabic keyboard, and full-width
// digits (０-９) pasted from some apps and PDFs, as ASCII.
export function toAsciiDigits(input: string): string {
  return input
    .replace(/[\u0660-\u0669]/g, (c) => String(c.charCodeAt(0) - 0x0660))
    .replace(/[\u06f0-\u06f9]/g, (c) => String(c.charCodeAt(0) - 0x06f0))
    .replace(/[\uff10-\uff19]/g, (c) => String(c.charCodeAt(0) - 0xff10))
    .replace(/\u066b/g, ".") // Arabic decimal separator
    .replace(/\u066c/g, ","); // Arabic thousands separator
}

/** A decimal number typed in any of the scripts; `null` when empty, `NaN` when not a number. */
export function parseDecimal(input: string): number | null {
  const s = toAsciiDigits(input).trim();
  if (s === "") return null;
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : Number.NaN;
}

// Direction marks, isolates, overrides and zero-width characters that come with a number copied
// in an Arabic interface; they carry nothing in a phone number.
const INVISIBLE = /[\u200b-\u200f\u061c\u202a-\u202e\u2060-\u2069\ufeff\u00ad]/g;

/**
 * A phone as pasted, tidied for the phone field: invisible marks dropped, a `tel:` scheme and its
 * parameters removed, full-width plus and digits made ASCII. The till's core does the real
 * parsing (and refuses letters); this only keeps the field readable.
 */
export function pastedPhone(input: string): string {
  let s = toAsciiDigits(input.replace(INVISIBLE, "")).replace(/\uff0b/g, "+").trim();
  if (/^tel:/i.test(s)) s = s.slice(4).split(";")[0];
  return s.trim();
}

/** True when the search text is phone digits (so F2 can carry it into the phone field). */
export function looksLikePhone(input: string): boolean {
  const s = pastedPhone(input);
  return /^\+?[\d\s\-()./\u00a0\u3000\uff08\uff09\uff0d\uff0e\uff0f]{4,}$/.test(s) && /\d/.test(s);
}

// How the countries the shop serves group their numbers when read out (as libphonenumber's
// international format, which the server's exports use): the country code, then groups.
const GROUPS: Record<string, number[]> = {
  "968": [4, 4], // Oman: +968 9212 3456
  "971": [2, 3, 4], // UAE: +971 50 123 4567
  "966": [2, 3, 4], // Saudi Arabia
  "974": [4, 4], // Qatar
  "973": [4, 4], // Bahrain
  "965": [4, 4], // Kuwait
};

/** An E.164 phone grouped for reading back: `+968 9212 3456`. Other countries: `+CC rest`. */
export function groupPhone(e164: string | null): string {
  if (!e164) return "";
  const m = /^\+(\d+)$/.exec(e164);
  if (!m) return e164;
  for (const [cc, groups] of Object.entries(GROUPS)) {
    const rest = m[1].slice(cc.length);
    if (m[1].startsWith(cc) && rest.length === groups.reduce((a, b) => a + b, 0)) {
      const parts: string[] = [];
      let at = 0;
      for (const g of groups) {
        parts.push(rest.slice(at, at + g));
        at += g;
      }
      return `+${cc} ${parts.join(" ")}`;
    }
  }
  return e164;
}

/** A phone masked for lists (the whole number is on the profile): `+968 •••• 3456`. */
export function maskedPhone(e164: string | null): string {
  if (!e164) return "";
  const grouped = groupPhone(e164);
  const last = e164.slice(-4);
  const cc = grouped.includes(" ") ? grouped.split(" ")[0] : "";
  return cc ? `${cc} •••• ${last}` : `•••• ${last}`;
}

/**
 * The phone as typed, with the selected country code when the number has none. A national
 * trunk "0" is dropped after a code (050… in the UAE is +971 50…). Oman has no trunk prefix.
 */
export function composePhone(countryCode: string, typed: string): string {
  const s = pastedPhone(typed);
  if (s === "" || s.startsWith("+") || s.startsWith("00")) return s;
  const national = s.replace(/^0(?=\d)/, "");
  return `${countryCode} ${national}`;
}

/** Wraps text in LEFT-TO-RIGHT ISOLATE … POP DIRECTIONAL ISOLATE, for places that cannot hold <bdi>. */
export function isolateLtr(text: string): string {
  return String.fromCharCode(0x2066) + text + String.fromCharCode(0x2069);
}
