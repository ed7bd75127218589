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
  } else if (phase === "wallet-errors") {
    // A locked wallet, a member who declines in its wallet, and an offer that expired.
    const locked = await open("tier1", { locked: true });
    await locked.waitForFunction(() => document.querySelector('[data-testid="banner"]').textContent.length > 0);
    out.locked = await locked.textContent('[data-testid="banner"]');
    const declining = await openSettled("tier1", { rejects: true });
    await declining.waitForSelector(`[data-testid="accept-${s.slot}"]`);
    await declining.click(`[data-testid="accept-${s.slot}"]`);
    out.declinedTx = await waitTx(declining);
    const bank = await openSettled("bank", { rejects: true });
    await bank.fill('[data-testid="offer-token"]', s.voucher);
    await bank.fill('[data-testid="offer-value"]', "1000.00");
    await bank.fill('[data-testid="offer-rate"]', "450");
    await bank.click('[data-testid="sign-offer"]');
    out.declinedSignature = await waitTx(bank);
    out.bankOffers = await bank.textContent('[data-testid="my-offers"]');
    const tier1 = await openSettled("tier1");
    await tier1.fill('[data-testid="offer-json"]', s.expiredOffer);
    await tier1.click('[data-testid="submit-offer"]');
    out.expired = await waitTx(tier1);
  } else if (phase === "holder") {
    // Tier 1 merges part of one voucher into another, hands one over whole (to a bad address
    // first) and pledges part of the other to the bank.
    const tier1 = await openSettled("tier1");
    const [a, b] = [s.first, s.second];
    await tier1.waitForSelector(`[data-testid="voucher-${b}"]`);
    await tier1.click(`[data-testid="more-${b}"]`);
    await tier1.selectOption(`[data-testid="merge-into-${b}"]`, s.firstId);
    await tier1.fill(`[data-testid="amount-${b}"]`, "50000.00");
    await tier1.click(`[data-testid="merge-${b}"]`);
    out.merge = await waitTx(tier1);
    out.values = { [a]: await tier1.textContent(`[data-testid="value-${a}"]`), [b]: await tier1.textContent(`[data-testid="value-${b}"]`) };
    await tier1.fill(`[data-testid="to-${b}"]`, "0x12");
    await tier1.click(`[data-testid="handover-${b}"]`);
    out.badHandOver = await waitTx(tier1);
    await tier1.fill(`[data-testid="to-${b}"]`, s.tier2);
    await tier1.click(`[data-testid="handover-${b}"]`);
    out.handOver = await waitTx(tier1);
    out.afterHandOver = await tier1.textContent('[data-testid="vouchers"]');
    await tier1.click(`[data-testid="more-${a}"]`);
    await tier1.fill(`[data-testid="amount-${a}"]`, "200000.00");
    await tier1.fill(`[data-testid="pledgee-${a}"]`, s.bank);
    await tier1.fill(`[data-testid="secured-${a}"]`, "150000.00");
    await tier1.click(`[data-testid="pledge-${a}"]`);
    out.noDue = await waitTx(tier1);
    // The failure refreshed the list: the row is new, its disclosure closed again.
    const details = await tier1.$(`[data-testid="voucher-${a}"] details`);
    if (!(await details.evaluate((d) => d.open))) await tier1.click(`[data-testid="more-${a}"]`);
    await tier1.fill(`[data-testid="amount-${a}"]`, "200000.00");
    await tier1.fill(`[data-testid="pledgee-${a}"]`, s.bank);
    await tier1.fill(`[data-testid="secured-${a}"]`, "150000.00");
    await tier1.fill(`[data-testid="pledge-due-${a}"]`, s.due);
    await tier1.click(`[data-testid="pledge-${a}"]`);
    out.pledge = await waitTx(tier1);
    out.valueAfterPledge = await tier1.textContent(`[data-testid="value-${a}"]`);
  } else if (phase === "phone") {
    // A phone's width: nothing overflows the page; wide tables scroll inside their section;
    // every control is reachable with the keyboard alone.
    const page = await openSettled("tier1", { viewport: { width: 390, height: 844 } });
    await page.waitForSelector(`[data-testid="voucher-${s.voucher}"]`);
    out.scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    out.tableScrolls = await page.evaluate(() => {
      const section = document.querySelector('[data-testid="vouchers"]').closest("section");
      return section.scrollWidth > section.clientWidth;
    });
    out.unlabelled = await page.$$eval("input, select, textarea", (els) =>
      els.filter((e) => !e.getAttribute("aria-label") && !e.labels?.length).map((e) => e.outerHTML.slice(0, 80)));
    // Tab to the voucher's amount field, type, and reach its Split & send button by keyboard.
    await page.focus(`[data-testid="to-${s.voucher}"]`);
    await page.keyboard.type(s.tier2);
    await page.keyboard.press("Tab");
    out.focusedAfterTab = await page.evaluate(() => document.activeElement.dataset.testid);
    await page.keyboard.type("1000.00");
    await page.keyboard.press("Tab");
    out.focusedButton = await page.evaluate(() => document.activeElement.dataset.testid);
    await page.keyboard.press("Enter");
    out.sent = await waitTx(page);
    await page.evaluate(() => { for (const section of document.querySelectorAll("section")) section.scrollLeft = 0; });
    if (s.screenshot) await page.screenshot({ path: s.screenshot, fullPage: false });
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
    // Refused before the wallet is asked to sign: more than the voucher holds, a rate the desk caps.
    await bank.fill('[data-testid="offer-value"]', "700000.00");
    await bank.fill('[data-testid="offer-rate"]', "450");
    await bank.click('[data-testid="sign-offer"]');
    out.offerTooBig = await waitTx(bank);
    await bank.fill('[data-testid="offer-value"]', "100000.00");
    await bank.fill('[data-testid="offer-rate"]', "99999");
    await bank.click('[data-testid="sign-offer"]');
    out.rateTooHigh = await waitTx(bank);
    await bank.fill('[data-testid="offer-rate"]', "450");
    await bank.click('[data-testid="sign-offer"]');
    out.signed = await waitTx(bank);
    out.signedParties = await bank.textContent('[data-testid="offer-parties"]');
    const offer = await bank.inputValue('[data-testid="offer-json"]');
    out.offerSeller = JSON.parse(offer).offer.seller;
    out.offerDeadline = JSON.parse(offer).offer.deadline;
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
    out.redeemBeforeMaturity = await tier1.textContent(`[data-testid="voucher-${root}"]`);

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
    // The lineage pictures: tier 1 sees its voucher, its root and what it split off (to tier 2
    // and the bank); tier 2 sees its own and its ancestry, not tier 1's later sale.
    const treeOf = async (page) => {
      await page.click('[data-testid="refresh"]');
      await settled(page);
      await page.waitForFunction(() => document.querySelector('[data-testid="member-tree"]').dataset.labels);
      return {
        labels: await page.getAttribute('[data-testid="member-tree"]', "data-labels"),
        text: await page.$$eval('[data-testid="member-tree"] svg text', (ts) => ts.map((t) => t.textContent).join(" | ")),
        note: await page.textContent('[data-testid="lineage-note"]'),
      };
    };
    out.tier1Tree = await treeOf(tier1);
    out.tier2Tree = await treeOf(await openSettled("tier2"));
    // What the bank bought: in its taken offers and its portfolio.
    await bank.waitForSelector(`[data-testid="taken-${s.slot}.3"]`);
    out.taken = await bank.$$eval(`[data-testid="taken-${s.slot}.3"] td`, (cells) => cells.map((c) => c.textContent));
    out.bankPortfolio = await bank.$$eval('[data-testid="portfolio"] tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)));
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
    // The lineage tree is the one SVG the page draws itself (ECharts, text nodes only): any
    // other SVG, and any image, script, frame or foreign object anywhere, was injected.
    out.injectedElements = await page.$$eval("main img, main script, main svg, main iframe, main foreignObject", (els) =>
      els.filter((e) => !(e.tagName.toLowerCase() === "svg" && e.parentElement.closest('[data-testid="member-tree"]')))
        .map((e) => e.outerHTML),
    );
    out.dialogs = dialogs;
  } else if (phase === "core") {
    // The hospital's desk: confirm the supplier's invoice, issue against it (too much first),
    // issue and cancel a second voucher, anchor its own order from a file.
    const hospital = await openSettled("hospital");
    out.sections = await hospital.evaluate(() => ({
      documents: !document.querySelector('[data-testid="documents-section"]').hidden,
      issuer: !document.querySelector('[data-testid="issuer-section"]').hidden,
    }));
    await hospital.waitForSelector(`[data-testid="confirm-${s.invoice}"]`);
    out.toDecide = await hospital.$$eval(`[data-testid="record-${s.invoice}"] td`, (cells) => cells.map((c) => c.textContent));
    // The hospital checks the fingerprint against its own copy first: a wrong copy, then the right one.
    const compare = async (text) => {
      await hospital.setInputFiles(`[data-testid="copy-${s.invoice}"]`, {
        name: "invoice-2026-117.txt", mimeType: "text/plain", buffer: Buffer.from(text, "utf8"),
      });
      await hospital.waitForFunction((id) => document.querySelector(`[data-testid="copy-verdict-${id}"]`).textContent !== "", s.invoice);
      const verdict = await hospital.textContent(`[data-testid="copy-verdict-${s.invoice}"]`);
      await hospital.evaluate((id) => { document.querySelector(`[data-testid="copy-verdict-${id}"]`).textContent = ""; }, s.invoice);
      return verdict;
    };
    out.wrongCopy = await compare(`${s.invoiceText} (amended)`);
    out.rightCopy = await compare(s.invoiceText);
    await hospital.click(`[data-testid="confirm-${s.invoice}"]`);
    out.confirm = await waitTx(hospital);
    await hospital.waitForSelector(`[data-testid="issue-${s.invoice}"]`);
    out.invoiceRow = await hospital.$$eval(`[data-testid="invoice-${s.invoice}"] td`, (cells) => cells.slice(0, 4).map((c) => c.textContent));
    out.creditLine = await hospital.textContent('[data-testid="credit-line"]');
    const issue = async (face, due) => {
      await hospital.fill(`[data-testid="face-${s.invoice}"]`, face);
      await hospital.fill(`[data-testid="due-${s.invoice}"]`, due);
      await hospital.click(`[data-testid="issue-${s.invoice}"]`);
      return waitTx(hospital);
    };
    out.tooMuch = await issue("900000.00", s.due);
    out.badDate = await issue("300000.00", "");
    out.issue = await issue("300000.00", s.due);
    out.second = await issue("100000.00", s.due);
    await hospital.waitForSelector(`[data-testid="cancel-slot-${s.secondSlot}"]`);
    await hospital.click(`[data-testid="cancel-slot-${s.secondSlot}"]`);
    out.cancel = await waitTx(hospital);
    out.states = await hospital.$$eval('[data-testid="issuances"] tr', (rows) => rows.map((r) => r.dataset.testid + " " + r.querySelector('[data-testid^="state-"]')?.textContent));

    await hospital.selectOption('[data-testid="doc-type"]', "order");
    await hospital.fill('[data-testid="doc-counterparty"]', s.tier1);
    await hospital.fill('[data-testid="doc-amount"]', "300000.00");
    await hospital.click('[data-testid="anchor"]');
    out.noFile = await waitTx(hospital);
    await hospital.setInputFiles('[data-testid="doc-file"]', {
      name: "order-2026-117.txt", mimeType: "text/plain", buffer: Buffer.from(s.orderText, "utf8"),
    });
    await hospital.waitForFunction(() => document.querySelector('[data-testid="doc-hash"]').textContent.includes("0x"));
    out.docHash = await hospital.textContent('[data-testid="doc-hash"]');
    await hospital.click('[data-testid="anchor"]');
    out.anchor = await waitTx(hospital);
  } else if (phase === "core-fund") {
    const hospital = await openSettled("hospital");
    await hospital.waitForSelector(`[data-testid="fund-${s.slot}"]`);
    await hospital.fill(`[data-testid="fund-amount-${s.slot}"]`, "100000.00");
    await hospital.click(`[data-testid="fund-${s.slot}"]`);
    out.fund = await waitTx(hospital);
    out.funded = await hospital.textContent(`[data-testid="funded-${s.slot}"]`);
    out.creditLine = await hospital.textContent('[data-testid="credit-line"]');
    out.calendar = await hospital.$$eval('[data-testid="calendar"] tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)));
    if (s.screenshot) await hospital.screenshot({ path: s.screenshot, fullPage: true });
  } else if (phase === "operator") {
    // Threshold 2: the first operator approves an application, raises a credit line, suspends
    // a member (without a reason first), starts its reinstatement and freezes a voucher; the
    // second sees what waits for it and completes each.
    const rowCells = (page, testid) => page.$$eval(`[data-testid="${testid}"] td`, (cells) => cells.map((c) => c.textContent));
    const op = await openSettled("operator");
    await op.waitForSelector(`[data-testid="approve-${s.applicant}"]`);
    out.threshold = await op.textContent('[data-testid="threshold"]');
    await op.click(`[data-testid="approve-${s.applicant}"]`);
    out.approve1 = await waitTx(op);
    out.application1 = await rowCells(op, `application-${s.applicant}`);
    out.approveOffered1 = (await op.$(`[data-testid="approve-${s.applicant}"]`)) !== null;
    await op.fill(`[data-testid="new-limit-${s.hospital}"]`, "6000000.00");
    await op.click(`[data-testid="set-limit-${s.hospital}"]`);
    out.raise = await waitTx(op);
    await op.click(`[data-testid="suspend-${s.tier3}"]`);
    out.noReason = await waitTx(op);
    await op.fill('[data-testid="op-reason"]', s.reason);
    await op.click(`[data-testid="suspend-${s.tier3}"]`);
    out.suspend = await waitTx(op);
    await op.click(`[data-testid="reinstate-${s.tier3}"]`);
    out.reinstate1 = await waitTx(op);
    out.tier3After1 = await op.textContent(`[data-testid="status-${s.tier3}"]`);
    await op.fill('[data-testid="freeze-token"]', s.voucher);
    await op.click('[data-testid="freeze"]');
    out.freeze = await waitTx(op);
    out.pending1 = await op.$$eval('[data-testid="pending-actions"] tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)));

    const op2 = await openSettled("operator2");
    await op2.waitForSelector('[data-testid^="cosign-"]');
    out.pending2 = await op2.$$eval('[data-testid="pending-actions"] tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)));
    if (s.screenshot) await op2.screenshot({ path: s.screenshot, fullPage: true });
    await op2.click(`[data-testid="approve-${s.applicant}"]`);
    out.approve2 = await waitTx(op2);
    out.cosigned = [];
    while (await op2.$('[data-testid^="cosign-"]')) {
      await op2.click('[data-testid^="cosign-"] >> nth=0');
      out.cosigned.push(await waitTx(op2));
      if (out.cosigned.length > 5) break;
    }
    out.pendingAfter = await op2.textContent('[data-testid="pending-actions"]');
    out.applicationsAfter = await op2.textContent('[data-testid="applications"]');
    out.tier3 = await op2.textContent(`[data-testid="status-${s.tier3}"]`);
    out.hospitalLimit = await op2.textContent(`[data-testid="limit-${s.hospital}"]`);
    await op2.fill('[data-testid="freeze-token"]', s.voucher);
    await op2.click('[data-testid="unfreeze"]');
    out.unfreeze = await waitTx(op2);
  } else if (phase === "vault") {
    // What the vault holds for each member: the bank, after tier 1 disclosed the trail and the
    // bank verified it; the hospital, with a sealed delivery note to confirm; tier 1, whose
    // file went missing from the vault.
    const text = (page, id) => page.textContent(`[data-testid="${id}"]`);
    const bank = await openSettled("bank");
    await bank.waitForSelector(`[data-testid="vault-${s.invoice}"]`);
    out.bankDocs = await text(bank, "vault-docs");
    out.bankHeld = await text(bank, `vault-held-${s.invoice}`);
    out.bankShared = await text(bank, `vault-shared-${s.invoice}`);
    out.bankVerified = await text(bank, `vault-verified-${s.invoice}`);
    if (s.screenshot) await bank.locator('[data-testid="vault-section"]').screenshot({ path: s.screenshot });
    const hospital = await openSettled("hospital");
    await hospital.waitForSelector(`[data-testid="record-${s.delivery}"]`);
    out.hospitalToDecide = await text(hospital, `record-${s.delivery}`);
    out.hospitalCopyInputs = await hospital.locator(`[data-testid="copy-${s.delivery}"]`).count();
    const tier1 = await openSettled("tier1");
    await tier1.waitForSelector(`[data-testid="vault-held-${s.lost}"]`);
    out.tier1Lost = await text(tier1, `vault-held-${s.lost}`);
    out.tier1LostClass = await tier1.getAttribute(`[data-testid="vault-held-${s.lost}"]`, "class");
    const tier2 = await openSettled("tier2");
    out.tier2Docs = await text(tier2, "vault-docs");
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
