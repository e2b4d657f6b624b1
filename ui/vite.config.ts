/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";
import { fileURLToPath } from "node:url";

// The .ftl files live in ../i18n (shared with Rust) and are imported with `?raw`.
const root = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  plugins: process.env.VITEST ? [svelte(), svelteTesting()] : [svelte()],
  clearScreen: false,
  base: "./",
  server: { port: 1420, strictPort: true, fs: { allow: [root] } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 1000 },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    setupFiles: ["src/test/setup.ts"],
  },
});
