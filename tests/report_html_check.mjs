// Test-only (tests/suite/report_html.rs): opens a report.html from file:// in headless Chromium, driven
// by puppeteer-core from the cache, uses it as a person would, and prints what it saw as one JSON
// object on stdout.
//
//   node report_html_check.mjs SPEC.json
//   SPEC: { html, chromium, driver (the npm prefix holding puppeteer-core), query (a module to
//           search for), dropped_query (a dropped file to search for, optional),
//           screenshot (a PNG to write at 1280x800 with `query` selected, optional) }
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const require = createRequire(path.join(spec.driver, "package.json"));
const puppeteer = require("puppeteer-core");
const url = pathToFileURL(spec.html).href;
const out = { url, console: [], page_errors: [], requests: [] };

const browser = await puppeteer.launch({
  executablePath: spec.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});

/** A new tab that records console messages, page errors and every request. */
async function open(viewport) {
  const page = await browser.newPage();
  page.on("console", (m) => out.console.push({ type: m.type(), text: m.text() }));
  page.on("pageerror", (e) => out.page_errors.push(String(e)));
  page.on("request", (r) => out.requests.push(r.url()));
  await page.setViewport(viewport);
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.ready === "1", { timeout: 20000 });
  return page;
}

/** The boxes the treemap draws and how the page fits the viewport. */
const layout = (page) => page.evaluate(() => {
  const count = (selector) => document.querySelectorAll(selector).length;
  const box = (id) => {
    const r = document.getElementById(id).getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  };
  return {
    boxes: count("#map rect.file"),
    eager: count('#map rect.file[data-state="eager"]'),
    lazy: count('#map rect.file[data-state="lazy"]'),
    dropped: count('#map rect.file[data-state="dropped"]'),
    files: [...document.querySelectorAll("#map rect.file")].map((r) => Number(r.dataset.file)),
    map: box("map"),
    detail: box("detail"),
    overflow_x: document.documentElement.scrollWidth > window.innerWidth + 1,
    headline: [...document.querySelectorAll("#headline .stat")].map((s) => s.innerText),
    table_rows: [...document.querySelectorAll("#packages tbody tr")].map((tr) => tr.innerText),
    table_header: [...document.querySelectorAll("#packages th")].map((th) => th.innerText),
    crumbs: document.getElementById("crumbs").innerText,
  };
});

/** Types `query` into the search box, takes the first result, and returns the detail panel. */
async function searchAndPick(page, query) {
  await page.click("#search", { clickCount: 3 });
  await page.keyboard.press("Backspace");
  await page.type("#search", query);
  await page.waitForSelector("#results li[data-file]", { timeout: 5000 });
  const results = await page.$$eval("#results li[data-file]", (lis) => lis.slice(0, 5).map((li) => li.textContent));
  await page.keyboard.press("Enter");
  await page.waitForSelector("#detail h3", { timeout: 5000 });
  const detail = await page.evaluate(() => ({
    file: Number(document.getElementById("detail").dataset.file),
    title: document.querySelector("#detail h3").innerText,
    state: document.querySelector("#detail .state").innerText,
    text: document.getElementById("detail").innerText,
    chain: [...document.querySelectorAll("#chain li")].map((li) => li.innerText),
    selected: [...document.querySelectorAll("#map rect.file.selected")].map((r) => Number(r.dataset.file)),
    results_hidden: document.getElementById("results").hidden,
  }));
  return { results, ...detail };
}

try {
  // 1280x800: the layout, a search with its chain, hover, zoom, sorting.
  const page = await open({ width: 1280, height: 800 });
  out.desktop = await layout(page);
  out.search = await searchAndPick(page, spec.query);
  if (spec.dropped_query) out.dropped = await searchAndPick(page, spec.dropped_query);

  // Hover over the largest kept box: the tooltip names the edge kind that kept it.
  const target = await page.evaluate(() => {
    let best = null;
    for (const r of document.querySelectorAll('#map rect.file:not([data-state="dropped"])')) {
      const b = r.getBoundingClientRect();
      if (!best || b.width * b.height > best.area) best = { area: b.width * b.height, x: b.x + b.width / 2, y: b.y + b.height / 2, file: Number(r.dataset.file) };
    }
    return best;
  });
  if (target) {
    await page.mouse.move(target.x, target.y);
    out.hover = await page.evaluate(() => ({ hidden: document.getElementById("tip").hidden, text: document.getElementById("tip").innerText }));
    out.hover.file = target.file;
  }

  // Zoom: back to the whole environment, then click the first package's band.
  await page.evaluate(() => document.querySelector("#crumbs button")?.click());
  await page.click("#map rect.band");
  out.zoom = await layout(page);

  // Sort the table by its sixth column (the sizes after), twice.
  const column = (page) => page.$$eval("#packages tbody tr", (trs) => trs.map((tr) => tr.cells[0].innerText));
  await page.click("#packages th:nth-child(6)");
  out.sorted_descending = await column(page);
  await page.click("#packages th:nth-child(6)");
  out.sorted_ascending = await column(page);
  out.sort_attribute = await page.$eval("#packages th:nth-child(6)", (th) => th.getAttribute("aria-sort"));

  if (spec.screenshot) {
    const shot = await open({ width: 1280, height: 800 });
    await searchAndPick(shot, spec.query);
    await shot.mouse.move(0, 0);
    await shot.evaluate(() => document.activeElement?.blur());
    await shot.screenshot({ path: spec.screenshot });
    await shot.close();
  }
  await page.close();

  // A phone-sized viewport: one column, nothing wider than the screen.
  const phone = await open({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  out.phone = await layout(phone);
  out.phone_search = await searchAndPick(phone, spec.query);
} catch (err) {
  out.error = String(err && err.stack ? err.stack : err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
