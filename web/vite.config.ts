/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build lands beside the Python package, which serves it at `/` (src/tidings/api/web.py).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/tidings/web_dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
