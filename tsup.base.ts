import { defineConfig, type Options } from 'tsup';

/** The build every Robian library package shares: ESM for Node 22+, with types and source maps. */
export const libraryBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node22',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: false,
};

export default defineConfig(libraryBuild);
