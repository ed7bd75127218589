// Builds the member page into frontend_bridge/dist, with the ABIs, deployment manifests and
// EIP-712 definitions copied beside it (the page loads them at run time).
import { cpSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: resolve(here, "app"),
  base: "./",
  logLevel: "warn",
  build: { outDir: resolve(here, "dist"), emptyOutDir: true, target: "es2022" },
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
