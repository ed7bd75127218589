// Drives the supervision view in headless Chromium through every part, as an auditor would,
// against the read API serving it:
//   node supervision-flow.mjs '<json settings>'
// Settings: url (the view), chromium, shots (a folder for a screenshot of each part), and what
// to visit: debtor, holder (addresses), window ([from, to] as YYYY-MM-DD), treeSlot (with
// treeSlotDebtor and treeSlotDay, its maturity), redeemedSlot (and heldBack, its one frozen
// voucher), clickVoucher, selectVoucher, hostile (names that are markup).
// Half-way it prints {"await": "chain", "block": n} and waits for a line on its standard
// input: the test changes the chain meanwhile, and the view must follow by itself.
// The last line it prints is one JSON object with what the view showed.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const s = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await chromium.launch({
  executablePath: s.chromium ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const out = { dialogs: [], pageErrors: [], consoleErrors: [] };
const started = Date.now();
const T = (id) => `[data-testid="${id}"]`;

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("dialog", (dialog) => {
    out.dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on("pageerror", (error) => out.pageErrors.push(String(error)));
  page.on("console", (message) => message.type() === "error" && out.consoleErrors.push(message.text()));
  // Not busy, and the page has had a frame to draw what it fetched.
  const settled = async () => {
    await page.waitForFunction(() => document.body.dataset.busy === "0", null, { timeout: 20000 });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
  };
  const text = (selector) => page.textContent(selector);
  const cells = (selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent));
  // The SVG text nodes a chart drew, in document order.
  const svgTexts = (id) => page.$$eval(`#${id} svg text`, (els) => els.map((e) => e.textContent));
  const shoot = async (part, selector) => {
    if (!s.shots) return;
    await page.evaluate(() => window.scrollTo(0, 0));
    await (await page.$(selector)).screenshot({ path: `${s.shots}/supervision-${part}.png` });
  };

  // ---------------------------------------------------------------- load time
  const navigated = Date.now();
  await page.goto(`${s.url}?poll=250`);
  await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 20000 });
  out.loadMs = Date.now() - navigated; // as the test saw it: request to everything drawn
  out.readyMark = await page.evaluate(() => performance.getEntriesByName("supervision-ready")[0].startTime);
  out.status = await text(T("status"));
  out.block = Number(await page.getAttribute("body", "data-block"));

  // ---------------------------------------------------------------- slots
  const slotsShown = async () => ({
    count: await text(T("slot-count")),
    page: await text(T("page")),
    slots: await cells(`${T("slot-rows")} tr button`),
  });
  out.slots = await slotsShown();
  out.firstRow = await cells(`${T("slot-rows")} tr:first-child td`);
  out.statusOptions = await page.$$eval(`${T("f-status")} option`, (o) => o.map((x) => x.value).filter(Boolean));
  out.debtorOptions = await page.$$eval(`${T("f-debtor")} option`, (o) => o.map((x) => x.textContent));
  await shoot("slots", "#slots");
  await page.click(T("next"));
  await settled();
  out.nextPage = await slotsShown();
  // By debtor (all its slots, across pages), then by holder, then by maturity window.
  await page.selectOption(T("f-debtor"), s.debtor);
  await page.click(T("f-apply"));
  await settled();
  out.byDebtor = await slotsShown();
  out.byDebtorDebtors = await cells(`${T("slot-rows")} td[data-testid^="slot-debtor-"] .name`);
  const everyPage = async () => {
    const all = [];
    for (;;) {
      all.push(...(await cells(`${T("slot-rows")} tr button`)));
      if (await page.isDisabled(T("next"))) return all;
      await page.click(T("next"));
      await settled();
    }
  };
  out.byDebtorAll = await everyPage();
  await page.click(T("f-clear"));
  await settled();
  await page.selectOption(T("f-holder"), s.holder);
  await page.click(T("f-apply"));
  await settled();
  out.byHolder = await slotsShown();
  out.byHolderAll = await everyPage();
  await page.click(T("f-clear"));
  await settled();
  await page.fill(T("f-from"), s.window[0]);
  await page.fill(T("f-to"), s.window[1]);
  await page.press(T("f-to"), "Enter"); // the keyboard submits the filters
  await settled();
  out.byWindow = await slotsShown();
  out.byWindowAll = await everyPage();
  out.byWindowMaturities = await cells(`${T("slot-rows")} td[data-testid^="slot-maturity-"]`);
  if (out.statusOptions.includes("overdue")) {
    await page.click(T("f-clear"));
    await settled();
    await page.selectOption(T("f-status"), "overdue");
    await page.click(T("f-apply"));
    await settled();
    out.overdue = await slotsShown();
  }
  await page.click(T("f-clear"));
  await settled();
  out.cleared = await slotsShown();
  // The tree's slot, found by its debtor and its day of maturity.
  const filterToTreeSlot = async () => {
    await page.selectOption(T("f-debtor"), s.treeSlotDebtor);
    await page.fill(T("f-from"), s.treeSlotDay);
    await page.fill(T("f-to"), s.treeSlotDay);
    await page.click(T("f-apply"));
    await settled();
  };
  await filterToTreeSlot();
  out.slotRow = await cells(`${T(`slot-row-${s.treeSlot}`)} td`);

  // ---------------------------------------------------------------- exposure
  out.debtorRows = await page.$$eval(`${T("debtor-rows")} tr`, (rows) =>
    rows.map((r) => ({ address: r.dataset.testid.slice(7), cells: [...r.cells].map((c) => c.textContent) })));
  out.financierRows = await page.$$eval(`${T("financier-rows")} tr`, (rows) =>
    rows.map((r) => ({ key: r.dataset.testid ?? "", cells: [...r.cells].map((c) => c.textContent) })));
  out.exposureChart = await svgTexts("exposure-chart");
  await shoot("exposure", "#exposure");

  // ---------------------------------------------------------------- calendar
  await page.click("#calendar summary");
  out.calendarRows = await page.$$eval(`${T("calendar-rows")} tr`, (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  out.calendarChart = await svgTexts("calendar-chart");
  await page.click("#calendar summary"); // closed again for the picture
  await shoot("calendar", "#calendar");

  // ---------------------------------------------------------------- lineage
  // A slot's tree from the table: the slot's button, by keyboard.
  if (await page.$(T(`slot-${s.treeSlot}`))) {
    await page.focus(T(`slot-${s.treeSlot}`));
    await page.keyboard.press("Enter");
  } else {
    await page.fill(T("lineage-slot"), String(s.treeSlot));
    await page.press(T("lineage-slot"), "Enter");
  }
  await settled();
  out.lineageSummary = await text(T("lineage-summary"));
  out.tree = await svgTexts("tree-chart");
  // Where each node's first label line sits across the picture: its tier.
  out.treeX = await page.$$eval("#tree-chart svg text", (els) =>
    els.filter((e) => /^\d+\.\d+(\s|$)/.test(e.textContent)).map((e) => [e.textContent.split(" ")[0], Math.round(e.getBoundingClientRect().left)]));
  out.nodeOptions = await page.$$eval(`${T("node-select")} option`, (o) => o.map((x) => x.value).filter(Boolean));
  // Click the node's own label in the picture.
  const nodeLabel = new RegExp(`^${s.clickVoucher.replace(".", "\\.")}(\\s|$)`);
  await page.locator("#tree-chart svg text").filter({ hasText: nodeLabel }).click();
  await page.waitForFunction((t) => document.querySelector('[data-testid="detail-title"]').textContent.startsWith(t),
    `Voucher ${s.clickVoucher} `, { timeout: 10000 });
  await settled();
  out.clicked = {
    title: await text(T("detail-title")),
    holder: await text(T("detail-holder")),
    value: await text(T("detail-value")),
    status: await text(T("detail-status")),
    lineage: await text(T("detail-lineage")),
    history: await cells(`${T("detail-history")} li`),
    documents: await cells(`${T("detail-documents")} li`),
  };
  // The same from the keyboard: the list of the tree's vouchers.
  await page.focus(T("node-select"));
  await page.selectOption(T("node-select"), s.selectVoucher);
  await page.waitForFunction((t) => document.querySelector('[data-testid="detail-title"]').textContent.startsWith(t),
    `Voucher ${s.selectVoucher} `, { timeout: 10000 });
  await settled();
  out.selected = { title: await text(T("detail-title")), holder: await text(T("detail-holder")), value: await text(T("detail-value")) };
  // A settled slot: every fragment redeemed.
  await page.fill(T("lineage-slot"), String(s.redeemedSlot));
  await page.click(T("lineage-show"));
  await settled();
  out.redeemedTree = await svgTexts("tree-chart");
  out.redeemedSummary = await text(T("lineage-summary"));
  // Its one voucher held back from payment by a freeze, clicked in the picture.
  const heldBack = new RegExp(`^${s.heldBack.replace(".", "\\.")}(\\s|$)`);
  await page.locator("#tree-chart svg text").filter({ hasText: heldBack }).click();
  await page.waitForFunction((t) => document.querySelector('[data-testid="detail-title"]').textContent.startsWith(t),
    `Voucher ${s.heldBack} `, { timeout: 10000 });
  await settled();
  out.heldBack = { status: await text(T("detail-status")), history: await cells(`${T("detail-history")} li`) };
  await shoot("lineage", "#lineage");
  // A slot that does not exist: said so, nothing drawn.
  await page.fill(T("lineage-slot"), "999999");
  await page.press(T("lineage-slot"), "Enter");
  await settled();
  out.missingSlot = await text(T("lineage-summary"));

  // ---------------------------------------------------------------- alerts
  out.alertCount = await text(T("alert-count"));
  out.alerts = await cells(`${T("alert-list")} li`);
  await shoot("alerts", "#alerts");
  // Each alert links to what it concerns: follow the first link of each kind.
  out.alertLinks = {};
  for (const kind of ["slot", "voucher", "debtor", "member"]) {
    const link = page.locator(`${T("alert-list")} li button`).filter({ hasText: new RegExp(`^${kind} `) }).first();
    if (!(await link.count())) continue;
    const linkText = await link.textContent();
    await link.click();
    await settled();
    out.alertLinks[kind] = {
      link: linkText,
      lineage: await text(T("lineage-summary")),
      detail: (await page.isVisible(T("voucher-detail"))) ? await text(T("detail-title")) : null,
      slots: await text(T("slot-count")),
      debtorFilter: await page.inputValue(T("f-debtor")),
      holderFilter: await page.inputValue(T("f-holder")),
    };
    await page.click(T("f-clear"));
    await settled();
  }

  // ---------------------------------------------------------------- live updates
  await filterToTreeSlot(); // its row stays in the table while the chain moves
  await page.fill(T("lineage-slot"), String(s.treeSlot));
  await page.press(T("lineage-slot"), "Enter");
  await settled();
  const before = Number(await page.getAttribute("body", "data-block"));
  console.log(JSON.stringify({ await: "chain", block: before }));
  const reply = await lines.next(); // the test mined its blocks
  const target = JSON.parse(reply.value).block;
  const waited = Date.now();
  await page.waitForFunction((b) => Number(document.body.dataset.block) >= b, target, { timeout: 20000 });
  await settled();
  out.live = {
    ms: Date.now() - waited,
    block: Number(await page.getAttribute("body", "data-block")),
    status: await text(T("status")),
    summary: await text(T("lineage-summary")),
    tree: await svgTexts("tree-chart"),
    slotRow: await cells(`${T(`slot-row-${s.treeSlot}`)} td`),
  };

  // ---------------------------------------------------------------- untrusted names
  await page.waitForFunction(() => [...document.images].every((image) => image.complete));
  await page.waitForTimeout(200); // an injected onerror or onload would have run by now
  out.pwned = await page.evaluate(() => (typeof window.__pwned === "undefined" ? null : String(window.__pwned)));
  out.injected = await page.$$eval("body *", (els) =>
    els.filter((e) => ["IMG", "SCRIPT", "IFRAME", "OBJECT"].includes(e.tagName) && !e.closest("head")
      || [...e.attributes].some((a) => a.name.toLowerCase().startsWith("on"))).map((e) => e.outerHTML.slice(0, 200)));
  out.scripts = await page.$$eval("script", (els) => els.map((e) => e.getAttribute("src") ?? e.textContent.slice(0, 80)));
  out.hostileShown = {};
  for (const name of s.hostile) {
    out.hostileShown[name] = await page.evaluate((n) => {
      const where = [];
      if ([...document.querySelectorAll('[data-testid="slot-rows"] .name, [data-testid="debtor-rows"] .name, [data-testid="financier-rows"] .name')].some((e) => e.textContent === n)) where.push("tables");
      if ([...document.querySelectorAll("#f-debtor option, #f-holder option")].some((e) => e.textContent.startsWith(`${n} (`))) where.push("filters");
      // The tree cuts long names with an ellipsis: the name's first characters, as text.
      const cut = (t) => t === n || (t.endsWith("…") && t.length > 10 && n.startsWith(t.slice(0, -1)));
      if ([...document.querySelectorAll("#tree-chart svg text")].some((e) => cut(e.textContent))) where.push("tree");
      if ([...document.querySelectorAll("#node-select option")].some((e) => e.textContent.includes(` · ${n} · `))) where.push("voucher list");
      return where;
    }, name);
  }

  // ---------------------------------------------------------------- a phone's width
  await page.click(T("f-clear"));
  await settled();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(150);
  out.phone = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    tableScrolls: [...document.querySelectorAll(".scroll")].every((e) => getComputedStyle(e).overflowX === "auto"),
  }));
  if (s.shots) await page.screenshot({ path: `${s.shots}/supervision-phone.png` });
} catch (error) {
  out.failed = String(error.stack ?? error); // what was seen so far, for the test's message
} finally {
  await browser.close();
}
out.totalMs = Date.now() - started;
console.log(JSON.stringify(out));
process.exit(out.failed ? 1 : 0);
