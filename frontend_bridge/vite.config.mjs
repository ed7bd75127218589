// Builds the web app into frontend_bridge/dist: the member page (index.html) and the
// supervision view (supervision.html), with the ABIs, deployment manifests and EIP-712
// definitions copied beside them (the member page loads them at run time).
import { cpSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const app = resolve(here, "app");

export default defineConfig({
  root: app,
  base: "./",
  logLevel: "warn",
  build: {
    outDir: resolve(here, "dist"),
    emptyOutDir: true,
    target: "es2022",
    // The supervision view carries ECharts (core, bar and tree series, SVG renderer): about
    // 560 kB minified, 190 kB compressed, in one chunk of its own.
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      input: { index: resolve(app, "index.html"), supervision: resolve(app, "supervision.html") },
    },
  },
  plugins: [
    {
      name: "copy-bridge-artifacts",
      closeBundle() {
        for (const folder of ["abi", "deployments", "typed-data"]) {
          const from = resolve(here, folder);
          if (existsSync(from)) cpSync(from, resolve(here, "dist", folder), { recursive: true });
        }
      },
    },
  ],
});
