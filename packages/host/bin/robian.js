#!/usr/bin/env node
// The `robian` command. Plain JavaScript, committed (not built): pnpm links it at install time, before
// any build, and it checks the Node version before anything else is loaded (on Node 20 a dependency
// crashed with a segmentation fault instead of saying what is wrong).
const REQUIRED = [22, 18];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < REQUIRED[0] || (major === REQUIRED[0] && minor < REQUIRED[1])) {
  console.error(
    `Robian needs Node.js ${REQUIRED.join('.')} or newer; this is Node.js ${process.versions.node}.\n` +
      'Get a current one in one line with pnpm:  pnpm env use --global 22   (or with nvm:  nvm install 22)',
  );
  process.exit(1);
}
const { existsSync } = await import('node:fs');
const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('Robian is not built yet: run `pnpm build` in the repository first (`pnpm start` builds too).');
  process.exit(1);
}
await import(cli.href);
