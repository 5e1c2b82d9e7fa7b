// `pnpm --filter @robian/example-senat-source import <senat_lives.json | URL>`: the plugin's import
// command. The host starts without background work (as `robian import` does), imports, prints the report.
import { createRobian, officialPlugins } from '@robian/host';
import { SENAT_SOURCE, senatPlugin } from './plugin.ts';

const [command, input] = process.argv.slice(2);
if (command !== 'import' || !input) {
  console.error('usage: cli.ts import <senat_lives.json | https://videos.senat.fr/senat_lives.json>');
  process.exit(2);
}
const robian = createRobian({ plugins: [...officialPlugins(), senatPlugin], workers: false });
await robian.start();
try {
  const report = await robian.kernel.sources.get(SENAT_SOURCE)!.import!(input);
  console.log(JSON.stringify(report));
} catch (err) {
  console.error(`import failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await robian.close();
}
