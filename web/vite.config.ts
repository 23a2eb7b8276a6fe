// The web UI's build: web/ → dist/web, served by `ferry serve` (src/http/web.ts). `npm run build` runs it.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "../dist/web", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 600 },
  server: { proxy: { "/api": "http://localhost:8080" } },
});
