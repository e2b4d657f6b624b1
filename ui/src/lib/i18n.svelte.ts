// Text comes only from ../i18n/{en,ar}/*.ftl — the same files the Rust side embeds.
import { FluentBundle, FluentResource, type FluentVariable } from "@fluent/bundle";
import type { LocalizedMessage } from "../bindings/LocalizedMessage";
import type { Locale } from "../bindings/Locale";

const sources = import.meta.glob("../../../i18n/*/*.ftl", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

function buildBundle(locale: Locale): FluentBundle {
  // Isolation is done explicitly with <bdi> around phones and numbers.
  const bundle = new FluentBundle(locale, { useIsolating: false });
  for (const [path, text] of Object.entries(sources)) {
    if (path.includes(`/i18n/${locale}/`)) {
      const errors = bundle.addResource(new FluentResource(text));
      if (errors.length) console.error(`i18n/${locale}: ${errors.join("; ")}`);
    }
  }
  return bundle;
}

const bundles: Record<Locale, FluentBundle> = { en: buildBundle("en"), ar: buildBundle("ar") };

export const LOCALES: Locale[] = ["en", "ar"];
const STORAGE_KEY = "dukkan.locale";

function initialLocale(): Locale {
  try {
    const saved = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (saved === "en" || saved === "ar") return saved;
  } catch {
    // storage unavailable: fall through to English
  }
  return "en";
}

export const i18n = $state({ locale: initialLocale() as Locale });

export function dirOf(locale: Locale): "ltr" | "rtl" {
  return locale === "ar" ? "rtl" : "ltr";
}

/** Switches the language at run time; `<html lang dir>` follows. */
export function setLocale(locale: Locale): void {
  i18n.locale = locale;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, locale);
  } catch {
    // not persisted; still switched
  }
  applyDocumentLocale();
}

export function applyDocumentLocale(): void {
  const html = document.documentElement;
  html.lang = i18n.locale;
  html.dir = dirOf(i18n.locale);
  document.title = t("app-title");
}

export type Args = Record<string, FluentVariable>;

/** Formats message `id` (or `id.attribute`) in the current language, falling back to English. */
export function t(id: string, args?: Args): string {
  return format(i18n.locale, id, args);
}

export function format(locale: Locale, id: string, args?: Args): string {
  const [messageId, attribute] = id.split(".", 2);
  for (const bundle of [bundles[locale], bundles.en]) {
    const message = bundle.getMessage(messageId);
    const pattern = attribute ? message?.attributes[attribute] : message?.value;
    if (pattern) return bundle.formatPattern(pattern, args ?? null);
  }
  return id;
}

/** True when message `id` exists in the current language (or in English). */
export function hasMessage(id: string): boolean {
  return bundles[i18n.locale].hasMessage(id) || bundles.en.hasMessage(id);
}

/** Formats an error message from the shell; `message` args are ids localised first. */
export function formatMessage(message: LocalizedMessage, locale: Locale = i18n.locale): string {
  const args: Args = {};
  for (const [name, arg] of message.args) {
    args[name] = arg.type === "message" ? format(locale, arg.value) : arg.value;
  }
  return format(locale, message.id, args);
}

/** Every message id of a language (for the parity test). */
export function messageIds(locale: Locale): string[] {
  const ids: string[] = [];
  for (const [path, text] of Object.entries(sources)) {
    if (!path.includes(`/i18n/${locale}/`)) continue;
    for (const m of text.matchAll(/^(-?[a-zA-Z][\w-]*)\s*=/gm)) ids.push(m[1]);
  }
  return ids.sort();
}
