import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PLUGIN_API_VERSION, definePlugin, type RobianKernel } from '@robian/core';

const require = createRequire(import.meta.url);
const swaggerDir = dirname(require.resolve('swagger-ui-dist/package.json'));
const redocFile = join(dirname(require.resolve('redoc/package.json')), 'bundles', 'redoc.standalone.js');

/** Only these files are served from the packages: nothing in a URL reaches the file system. */
const SWAGGER_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const swaggerHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Robian API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;
const swaggerInit = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`;
const redocHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Robian API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/redoc/redoc.standalone.js"></script></body></html>`;

/** The OpenAPI 3.1 document, Swagger UI at /docs and ReDoc at /redoc, served from npm packages (no CDN). */
export function docsPlugin(kernel: RobianKernel, version: string) {
  return definePlugin({
    name: 'docs',
    version,
    apiVersion: PLUGIN_API_VERSION,
    description: 'OpenAPI document, Swagger UI and ReDoc',
    setup(ctx) {
      kernel.openapi.info = {
        title: 'Robian API',
        version,
        description: 'Debates of the parliament: catalogue, audio, search and live events. Errors are RFC 9457 problem+json.',
      };
      const r = ctx.router.raw;
      r.get('/openapi.json', (koa) => {
        koa.set('Cache-Control', 'no-cache');
        koa.body = kernel.openapi.document();
      });
      r.get('/docs', (koa) => {
        koa.type = 'html';
        koa.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
        koa.body = swaggerHtml;
      });
      r.get('/docs/init.js', (koa) => {
        koa.type = 'application/javascript';
        koa.body = swaggerInit;
      });
      r.get('/docs/assets/:file', (koa) => {
        const file = koa.params.file ?? '';
        const type = SWAGGER_FILES[file];
        if (!type) return;
        koa.type = type;
        koa.set('Cache-Control', 'public, max-age=86400');
        koa.body = createReadStream(join(swaggerDir, file));
      });
      r.get('/redoc', (koa) => {
        koa.type = 'html';
        koa.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; font-src 'self' data:");
        koa.body = redocHtml;
      });
      r.get('/redoc/redoc.standalone.js', (koa) => {
        koa.type = 'application/javascript';
        koa.set('Cache-Control', 'public, max-age=86400');
        koa.body = createReadStream(redocFile);
      });
    },
  });
}
