import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildClientLibrary } from '../support/client-library-build.js';
import { freePort } from '../../scripts/process/free-port.js';
import { startInProcessNode } from '../support/nodes.js';
import { CHROMIUM_PATH, describeNeeding, TOOLS } from '../support/tools.js';
import { uniquePrefix } from '../support/redis-server.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

// Without the background-networking flags Chromium's own connections are refused on this network and stall it.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1100, height: 720 };
const SCREENSHOTS = new URL('../../.test-output/', import.meta.url);

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP request with the path sent exactly as given (fetch would normalise `..`). */
function rawRequest(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web client', () => {
  const nodes: Node[] = [];
  const start = async (env: Record<string, string>): Promise<Node> => {
    const node = await startInProcessNode(env);
    nodes.push(node);
    return node;
  };

  beforeAll(async () => {
    await buildClientLibrary();
  }, 60_000);
  afterEach(async () => {
    await Promise.allSettled(nodes.splice(0).map((node) => node.stop()));
  });

  describe('files, as every node serves them', () => {
    it('serves the page, its scripts and the client library with their types and revalidation', async () => {
      const { port } = await start({});
      const page = await rawRequest(port, '/');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.body).toContain('<script type="module" src="/js/app.js">');
      expect((await rawRequest(port, '/chat')).body).toBe('Charla: connect a WebSocket client to /chat\n');

      const library = await rawRequest(port, '/lib/charla-client.js');
      expect(library.status).toBe(200);
      expect(library.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(library.body).toContain('ChatClient');
      // One bundle: a browser needs no further module of ours, nor a package it cannot load.
      expect(library.body).not.toMatch(/^\s*import\b/m);
      expect((await rawRequest(port, '/styles.css')).headers['content-type']).toBe('text/css; charset=utf-8');

      const etag = String(page.headers['etag']);
      const revalidated = await rawRequest(port, '/', 'GET', { 'if-none-match': etag });
      expect(revalidated.status).toBe(304);
      expect(revalidated.body).toBe('');
      const script = await rawRequest(port, '/js/app.js');
      const head = await rawRequest(port, '/js/app.js', 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(Buffer.byteLength(script.body)));
      expect(head.body).toBe('');
    });

    it('serves nothing outside the site, however the path is spelled', async () => {
      const { port } = await start({});
      for (const path of [
        '/../package.json',
        '/lib/../../package.json',
        '/%2e%2e/package.json',
        '/lib/%2e%2e/%2e%2e/package.json',
        '/lib/protocol/decode.js',
        '/lib/client/index.js',
        '/lib/client/index.ts',
        '/lib/client/index.d.ts',
        '//etc/passwd',
      ]) {
        expect((await rawRequest(port, path)).status, path).toBe(404);
      }
    });
  });

  describeNeeding([TOOLS.chromium], 'in a real browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
      mkdirSync(SCREENSHOTS, { recursive: true });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
    });
    const problems: string[] = [];
    // While a node is deliberately down, Chromium logs each failed reconnection attempt; that is the point, not a problem.
    let nodeDeliberatelyDown = false;
    const isFailedReconnection = (text: string) =>
      nodeDeliberatelyDown && /^WebSocket connection to '.*' failed/.test(text);
    const openChat = async (url: string, name: string, viewport: { width: number; height: number }): Promise<Page> => {
      const context = await browser.newContext({ viewport });
      // Fail at the step that went wrong, well within the test's own timeout.
      context.setDefaultTimeout(8000);
      const page = await context.newPage();
      page.on('pageerror', (err) => problems.push(`${name}: ${err.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' && !isFailedReconnection(message.text())) problems.push(`${name}: ${message.text()}`);
      });
      await page.goto(url);
      await page.fill('#name-input', name);
      await page.click('#login-form button[type="submit"]');
      await page.locator('#chat').waitFor({ state: 'visible' });
      return page;
    };
    const user = (page: Page, name: string) => page.locator(`#user-list [data-user="${name}"]`);
    const message = (page: Page, text: string) => page.locator('#messages li', { hasText: text });
    const send = async (page: Page, text: string) => {
      await page.fill('#message-input', text);
      await page.press('#message-input', 'Enter');
    };

    it('lets two users on two nodes of a Redis cluster chat, privately too, follow statuses, reconnects and departures', async () => {
      const env = { REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('web') };
      const anaPort = String(await freePort());
      const anaNode = await start({ ...env, CHARLA_NODE_ID: 'web-1', PORT: anaPort });
      const luisNode = await start({ ...env, CHARLA_NODE_ID: 'web-2' });
      const ana = await openChat(`http://127.0.0.1:${anaNode.port}/`, 'ana', PHONE);
      const luis = await openChat(`http://127.0.0.1:${luisNode.port}/`, 'luis', DESKTOP);

      // They see each other, with statuses.
      await user(ana, 'luis').locator('.dot[data-status="ACTIVO"]').waitFor({ state: 'attached' });
      await user(luis, 'ana').locator('.dot[data-status="ACTIVO"]').waitFor();
      await message(ana, 'luis se ha conectado').waitFor();

      // Broadcast, across nodes.
      await send(ana, 'hola luis, ¿qué tal?');
      await message(luis, 'hola luis, ¿qué tal?').waitFor();
      await ana.locator('#messages .message.own', { hasText: 'hola luis, ¿qué tal?' }).waitFor();

      // A message cannot inject markup.
      await send(luis, '<img src=x onerror="document.title=\'pwned\'"><b>negrita</b>');
      await message(ana, '<img src=x onerror=').waitFor();
      expect(await ana.locator('#messages img, #messages b').count()).toBe(0);
      expect(await ana.title()).toBe('Charla');

      // Private messages, both ways, in their own conversation.
      await user(luis, 'ana').click();
      await send(luis, 'esto es solo para ti');
      await luis.locator('#messages .message.private.own', { hasText: 'esto es solo para ti' }).waitFor();
      const anaTab = ana.locator('#tabs [data-conversation="luis"]');
      await anaTab.locator('.unread', { hasText: '1' }).waitFor();
      expect(await ana.locator('#messages li', { hasText: 'esto es solo para ti' }).count()).toBe(0);
      await anaTab.click();
      await ana.locator('#messages .message.private', { hasText: 'esto es solo para ti' }).waitFor();
      await send(ana, 'recibido');
      await luis.locator('#messages .message.private:not(.own)', { hasText: 'recibido' }).waitFor();
      await ana.screenshot({ path: new URL('web-client-phone-private.png', SCREENSHOTS).pathname });

      // A status change shows up on the other node.
      await luis.selectOption('#status-select', 'OCUPADO');
      await user(ana, 'luis').locator('.dot[data-status="OCUPADO"]').waitFor({ state: 'attached' });
      await user(luis, 'ana').locator('.dot[data-status="ACTIVO"]').waitFor();
      await ana.locator('#tabs [data-conversation="#sala"]').click();
      await message(ana, 'luis ahora está ocupado').waitFor();

      // Ana's node drains: her page says so, keeps trying, and resumes her session when a node answers at that address again.
      nodeDeliberatelyDown = true;
      await anaNode.stop();
      await ana.locator('#connection[data-state="reconnecting"]').waitFor();
      await ana.locator('#connection', { hasText: /intento ([2-9]|\d\d)/ }).waitFor(); // the first attempt was refused
      await start({ ...env, CHARLA_NODE_ID: 'web-3', PORT: anaPort });
      await ana.locator('#connection[data-state="open"]').waitFor();
      nodeDeliberatelyDown = false;
      // Resumed within the window: Luis never saw her leave, and she is listed all along.
      await user(luis, 'ana').waitFor();
      expect(await message(luis, 'ana ha salido').count()).toBe(0);
      await user(ana, 'luis').locator('.dot[data-status="OCUPADO"]').waitFor({ state: 'attached' });
      await send(ana, 'he vuelto');
      await luis.locator('#tabs [data-conversation="#sala"] .unread').waitFor();
      await luis.locator('#tabs [data-conversation="#sala"]').click();
      await message(luis, 'he vuelto').waitFor();
      await luis.screenshot({ path: new URL('web-client-desktop.png', SCREENSHOTS).pathname });

      // Luis closes his tab: Ana sees him leave.
      await luis.context().close();
      await message(ana, 'luis ha salido').waitFor();
      await user(ana, 'luis').waitFor({ state: 'detached' });
      await ana.screenshot({ path: new URL('web-client-phone.png', SCREENSHOTS).pathname });
      await ana.click('#toggle-users');
      await ana.screenshot({ path: new URL('web-client-phone-users.png', SCREENSHOTS).pathname });

      expect(problems).toEqual([]);
      await ana.context().close();
    }, 30_000);
  });
});
