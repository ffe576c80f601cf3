import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", ".node/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
