// A real browser for page tests: Debian's chromium, headless, driven by puppeteer-core (no browser
// download). `.ci/run` installs the chromium package.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/**
 * `file` opened in a fresh headless chromium at `viewport`; `problems` collects console errors, page errors
 * and every request that leaves the file system (the pages must work offline). Close `browser` after.
 */
export async function openPage(file: string, viewport: { width: number; height: number }): Promise<{ browser: Browser; page: Page; problems: string[] }> {
  const browser = await launchChromium();
  const problems: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => void problems.push(String(e)));
    page.on('request', (q) => void (q.url().startsWith('file:') || problems.push(`network: ${q.url()}`)));
    await page.setViewport(viewport);
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    return { browser, page, problems };
  } catch (e) {
    await browser.close();
    throw e;
  }
}
