import { defineConfig } from "vitest/config";

// Unit tests sit next to the code; integration tests (real systemd, real mTLS sockets) live under test/ and need root.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{agent,coordinator,shared}/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          // Booting systemd and waiting for units takes seconds, not milliseconds.
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each file boots its own systemd namespaces; two at once on 2 cores only slows both down.
          fileParallelism: false,
          // deploy/rbac.yaml against every API call kubecycle made in the end-to-end files.
          globalSetup: ["test/e2e/api-audit.ts"],
        },
      },
    ],
  },
});
