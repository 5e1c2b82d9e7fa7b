import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web player is built into ../dist/web, which @robian/player's plugin serves from the host.
// Preact through the automatic JSX runtime (tsconfig's jsxImportSource), no preset needed.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: 'public',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
