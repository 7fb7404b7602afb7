import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv } from 'vite';

/** Paths the API server owns; everything else is the client. */
const API_PATHS = ['/trpc', '/chat', '/auth', '/health'];

export default defineConfig(({ mode }) => {
  const apiUrl = loadEnv(mode, process.cwd(), '').API_URL || 'http://127.0.0.1:8000';
  const proxy = Object.fromEntries(API_PATHS.map((path) => [path, { target: apiUrl, changeOrigin: true, ws: path === '/trpc' }]));
  return {
    plugins: [react()],
    server: { proxy },
    preview: { proxy },
    // 'hidden': maps are written for error tracking but not referenced, and the server never serves them.
    build: { outDir: 'dist', emptyOutDir: true, sourcemap: 'hidden' },
  };
});
