import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/app, which the entry point serves at `/` (tsc writes its own output beside it).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist/app', emptyOutDir: true, sourcemap: true },
  server: {
    // `npm run dev`: the API of a running `npm start` (FLOTILLA_API_URL chooses another). Its
    // development CA is trusted with NODE_EXTRA_CA_CERTS=.data/tls/ca.crt.
    proxy: { '/api': { target: process.env.FLOTILLA_API_URL ?? 'https://localhost:8443', changeOrigin: true } },
  },
});
