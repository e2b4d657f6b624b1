import { afterEach } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { setLocale } from "../lib/i18n.svelte";

afterEach(() => {
  clearMocks();
  setLocale("en");
  localStorage.clear();
});

// jsdom has no layout engine and no ResizeObserver (Svelte's bind:clientHeight uses it).
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
};
