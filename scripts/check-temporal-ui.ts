/**
 * Starts the provisioned Temporal dev server with its Web UI on free ports, fetches the UI's
 * page and its settings endpoint, and stops the server. Exits non-zero unless both answer as
 * the Temporal Web UI does (a SvelteKit page under /_app/, JSON settings with an Auth block).
 */
import { freePort, startDevServer } from '../lib/temporal-dev-server.ts';

const server = await startDevServer({ uiPort: await freePort() });
const get = async (path: string): Promise<string> =>
  fetch(`${server.uiUrl}${path}`).then(
    (r) => (r.ok ? r.text() : ''),
    () => '',
  );
try {
  let html = '';
  for (let attempt = 0; attempt < 100 && !html.includes('<html'); attempt++) {
    html = await get('/');
    if (!html.includes('<html')) await new Promise((r) => setTimeout(r, 200));
  }
  const settings = await get('/api/v1/settings');
  if (!html.includes('<html') || !html.includes('/_app/') || !settings.includes('"Auth"')) {
    console.error(`no Temporal Web UI at ${server.uiUrl}`);
    process.exitCode = 1;
  } else {
    console.log(
      `Temporal Web UI at ${server.uiUrl}: ${html.length} bytes of HTML, settings ${settings.length} bytes`,
    );
  }
} finally {
  await server.stop();
}
