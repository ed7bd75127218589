// Drives the member page in headless Chromium, as members would, in phases the pytest test
// calls between its own checks of the chain:
//   node member-flow.mjs <phase> '<json settings>'
// Prints one JSON line with what the page showed.
import { chromium } from "playwright-core";
import { memberPage } from "./test-wallet.mjs";

const [phase, raw] = process.argv.slice(2);
const s = JSON.parse(raw);
const browser = await chromium.launch({
  executablePath: s.chromium ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const out = {};
const open = (key, extra = {}) => memberPage(browser, { url: s.url, rpcUrl: s.rpc, privateKey: s.keys[key], ...extra });
// After a click the page is busy until its action and the refresh that follows are done.
const settled = (page) => page.waitForFunction(() => document.body.dataset.busy === "0", null, { timeout: 30000 });
const started = Date.now();
const timings = [];
const waitTx = async (page) => {
  await settled(page);
  timings.push(Date.now() - started);
  return page.textContent('[data-testid="tx"]');
};
const openSettled = async (key, extra) => {
  const page = await open(key, extra);
  await settled(page);
  return page;
};

try {
  if (phase === "wrong-chain") {
    const page = await openSettled("tier1", { chainIdOverride: 1 });
    await page.waitForFunction(() => document.querySelector('[data-testid="banner"]').textContent.length > 0);
    out.banner = await page.textContent('[data-testid="banner"]');
  } else if (phase === "board-note") {
    const page = await openSettled("tier1");
    await page.waitForFunction(() => document.querySelector('[data-testid="board-note"]').textContent.length > 0);
    out.note = await page.textContent('[data-testid="board-note"]');
  } else if (phase === "trade") {
    const tier1 = await openSettled("tier1");
    await tier1.waitForSelector(`[data-testid="accept-${s.slot}"]`);
    out.member = await tier1.textContent('[data-testid="member"]');
    await tier1.click(`[data-testid="accept-${s.slot}"]`);
    out.accept = await waitTx(tier1);
    const root = `${s.slot}.1`;
    await tier1.waitForSelector(`[data-testid="voucher-${root}"]`);
    out.rootValue = await tier1.textContent(`[data-testid="value-${root}"]`);

    await tier1.fill(`[data-testid="to-${root}"]`, s.tier2);
    await tier1.fill(`[data-testid="amount-${root}"]`, "0.001");
    await tier1.click(`[data-testid="send-${root}"]`);
    out.badAmount = await waitTx(tier1);
    await tier1.fill(`[data-testid="to-${root}"]`, "0x12");
    await tier1.fill(`[data-testid="amount-${root}"]`, "10.00");
    await tier1.click(`[data-testid="send-${root}"]`);
    out.badAddress = await waitTx(tier1);
    await tier1.fill(`[data-testid="to-${root}"]`, s.tier2);
    await tier1.fill(`[data-testid="amount-${root}"]`, "9999999.00");
    await tier1.click(`[data-testid="send-${root}"]`);
    out.tooMuch = await waitTx(tier1);
    await tier1.fill(`[data-testid="to-${root}"]`, s.tier2);
    await tier1.fill(`[data-testid="amount-${root}"]`, "400,000.00");
    await tier1.click(`[data-testid="send-${root}"]`);
    out.split = await waitTx(tier1);
    out.rootAfterSplit = await tier1.textContent(`[data-testid="value-${root}"]`);

    // The bank names no seller: the offer is for the voucher's holder now, tier 1. Signing
    // publishes it on the offer board of the service that serves the page.
    const bank = await openSettled("bank");
    await bank.fill('[data-testid="offer-token"]', root);
    await bank.fill('[data-testid="offer-value"]', "100000.00");
    await bank.fill('[data-testid="offer-rate"]', "450");
    await bank.click('[data-testid="sign-offer"]');
    out.signed = await waitTx(bank);
    out.signedParties = await bank.textContent('[data-testid="offer-parties"]');
    const offer = await bank.inputValue('[data-testid="offer-json"]');
    out.offerSeller = JSON.parse(offer).offer.seller;
    const nonce = JSON.parse(offer).offer.nonce;
    await bank.waitForSelector(`[data-testid="my-offer-${nonce}"]`);
    out.bankOffers = await bank.$$eval(`[data-testid="my-offer-${nonce}"] td`, (cells) => cells.map((c) => c.textContent));
    if (s.financierScreenshot) await bank.screenshot({ path: s.financierScreenshot, fullPage: true });

    // The offer is not tier 2's: its board lists nothing, and pasted, its page refuses it
    // before sending anything.
    const tier2 = await openSettled("tier2");
    out.tier2Offers = await tier2.textContent('[data-testid="offers-for-me"]');
    await tier2.fill('[data-testid="offer-json"]', offer);
    await tier2.click('[data-testid="submit-offer"]');
    out.notSeller = await waitTx(tier2);
    // An offer without its seller (as signed before offers named one) is refused as such.
    const { seller, ...unnamed } = JSON.parse(offer).offer;
    await tier1.fill('[data-testid="offer-json"]', JSON.stringify({ ...JSON.parse(offer), offer: unnamed }));
    await tier1.click('[data-testid="submit-offer"]');
    out.noSeller = await waitTx(tier1);

    // Tier 1 finds the offer on its page, priced, and takes it in one click.
    const row = `[data-testid="offer-${JSON.parse(offer).offer.financier}-${nonce}"]`;
    await tier1.click('[data-testid="refresh"]');
    await settled(tier1);
    await tier1.waitForSelector(row);
    out.offerRow = await tier1.$$eval(`${row} td`, (cells) => cells.map((c) => c.textContent));
    if (s.screenshot) await tier1.screenshot({ path: s.screenshot, fullPage: true });
    await tier1.click(`[data-testid="take-${nonce}"]`);
    out.discount = await waitTx(tier1);
    await tier1.waitForFunction((sel) => {
      document.querySelector('[data-testid="refresh"]').click();
      return document.querySelector(sel) === null;
    }, row, { timeout: 20000, polling: 500 });
    await settled(tier1);
    out.offersAfterTake = await tier1.textContent('[data-testid="offers-for-me"]');
    await tier1.fill('[data-testid="offer-json"]', offer);
    await tier1.click('[data-testid="submit-offer"]');
    out.replay = await waitTx(tier1);
    out.tier1Member = await tier1.textContent('[data-testid="member"]');

    // The bank publishes a second offer and cancels it: the chain spends the nonce, the board
    // drops it, and the bank's list is empty again.
    await bank.fill('[data-testid="offer-token"]', root);
    await bank.fill('[data-testid="offer-value"]', "50000.00");
    await bank.fill('[data-testid="offer-rate"]', "500");
    await bank.click('[data-testid="sign-offer"]');
    out.signedSecond = await waitTx(bank);
    const second = JSON.parse(await bank.inputValue('[data-testid="offer-json"]')).offer.nonce;
    await bank.waitForSelector(`[data-testid="cancel-${second}"]`);
    await bank.click(`[data-testid="cancel-${second}"]`);
    out.cancel = await waitTx(bank);
    await bank.waitForFunction((sel) => {
      document.querySelector('[data-testid="refresh"]').click();
      return document.querySelector(sel) === null;
    }, `[data-testid="my-offer-${second}"]`, { timeout: 20000, polling: 500 });
    await settled(bank);
    out.bankOffersAfterCancel = await bank.textContent('[data-testid="my-offers"]');
    out.cancelledNonce = second;
  } else if (phase === "hostile-names") {
    // Firms whose chosen names are markup issue vouchers to s.member: its page must show the
    // names as text and run none of it, in the pending list and among its vouchers.
    const dialogs = [];
    const page = await openSettled(s.member, { onDialog: (message) => dialogs.push(message) });
    for (const slot of s.slots) await page.waitForSelector(`[data-testid="accept-${slot}"]`);
    out.pending = await page.textContent('[data-testid="pending"]');
    for (const slot of s.slots) {
      await page.click(`[data-testid="accept-${slot}"]`);
      await waitTx(page);
    }
    out.vouchers = {};
    for (const slot of s.slots) {
      const row = `[data-testid="voucher-${slot}.1"]`;
      await page.waitForSelector(row);
      out.vouchers[`${slot}.1`] = await page.$$eval(`${row} td`, (cells) => cells.map((c) => c.textContent));
    }
    // Give injected markup its chance: images fail to load, then their onerror would run.
    await page.waitForFunction(() => [...document.images].every((image) => image.complete));
    await page.waitForTimeout(250);
    out.pwned = await page.evaluate(() => (typeof window.__pwned === "undefined" ? null : String(window.__pwned)));
    out.injectedElements = await page.$$eval("main img, main script, main svg, main iframe", (els) =>
      els.map((e) => e.outerHTML),
    );
    out.dialogs = dialogs;
  } else if (phase === "redeem") {
    const tier2 = await openSettled("tier2");
    const voucher = s.voucher;
    await tier2.waitForSelector(`[data-testid="redeem-${voucher}"]`);
    await tier2.click(`[data-testid="redeem-${voucher}"]`);
    out.redeem = await waitTx(tier2);
    out.member = await tier2.textContent('[data-testid="member"]');
    out.vouchers = await tier2.textContent('[data-testid="vouchers"]');
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
} finally {
  await browser.close();
}
out.timingsMs = timings;
out.totalMs = Date.now() - started;
console.log(JSON.stringify(out));
