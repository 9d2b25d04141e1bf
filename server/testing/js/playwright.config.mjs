// Runs the example spec in Rapport's own suite (tests/e2e/test_kit_js.py): Debian's chromium
// (RAPPORT_CHROMIUM) with the flags the Python kit uses; the page under test is RAPPORT_SHOP.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.mjs",
  timeout: 180_000,
  workers: 1,
  reporter: "line",
  use: {
    headless: true,
    viewport: { width: 1280, height: 720 },
    launchOptions: {
      executablePath: process.env.RAPPORT_CHROMIUM || undefined,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
});
