import { defineConfig } from "vite";

// Everything is bundled into dist/: the app fetches nothing at run time.
export default defineConfig({
  clearScreen: false,
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
  test: { environment: "node" },
});
