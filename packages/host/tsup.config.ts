import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.ts';

// the host also builds its CLI, sharing chunks with the library entry
export default defineConfig({ ...libraryBuild, entry: ['src/index.ts', 'src/cli.ts'], dts: { entry: ['src/index.ts'] }, splitting: true });
