// The member page: connects the member's EIP-1193 wallet and lets it act on its own vouchers.
import {
  connect,
  formatDate,
  label,
  loadArtifacts,
  money,
  OfferBoard,
  offerFromJson,
  offerToJson,
  parseAmount,
  percent,
} from "./bridge.js";

const $ = (id) => document.getElementById(id);
let client = null;
const board = new OfferBoard(".");

function banner(message) {
  $("banner").textContent = message;
  $("banner").className = message ? "error" : "";
}

function txStatus(state, text) {
  $("tx").className = state;
  $("tx").textContent = `${state}: ${text}`;
}

// While an action or a refresh runs, <body data-busy="1">: tests and screen readers can tell.
// A count, so that the periodic refresh ending never marks an action still running as done.
let running = 0;
async function busy(fn) {
  running += 1;
  document.body.dataset.busy = "1";
  try {
    await fn();
  } finally {
    running -= 1;
    if (running === 0) document.body.dataset.busy = "0";
  }
}

async function act(what, fn) {
  await busy(async () => {
    txStatus("pending", what);
    try {
      const receipt = await fn();
      txStatus("confirmed", `${what} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`);
    } catch (error) {
      txStatus("failed", `${what}: ${client ? client.describeError(error) : error.message}`);
    }
    await refresh();
  });
}

function parseVoucher(text) {
  const [slot, serial] = String(text).trim().split(".");
  if (!/^\d+$/.test(slot ?? "") || !/^\d+$/.test(serial ?? "")) throw new Error(`"${text}" is not a voucher (slot.serial, e.g. 1.2)`);
  return (BigInt(slot) << 32n) | BigInt(serial);
}

// Everything shown from the chain (member names above all: a firm chooses its own) goes into
// the page as text, never as markup: no innerHTML here.
function cell(text, { className, testid, colSpan } = {}) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  if (testid) td.dataset.testid = testid;
  if (colSpan) td.colSpan = colSpan;
  return td;
}

const emptyRow = (colSpan) => {
  const row = document.createElement("tr");
  row.append(cell("none", { className: "muted", colSpan }));
  return row;
};

async function refresh() {
  if (!client) return;
  const m = await client.member();
  const cash = await client.cash();
  $("who").textContent = `${m.name || "unknown account"} · ${client.account.slice(0, 10)}… · chain ${client.chainId}`;
  $("member").textContent =
    `Status: ${m.status} · roles: ${m.roles.join(", ") || "none"} · cash: ${money(cash)}`;
  if (m.status !== "active") banner(`This account is ${m.status} in the consortium: it cannot hold or move vouchers.`);

  const pending = await client.pendingIssuances();
  $("pending").replaceChildren(...(pending.length ? [] : [emptyRow()]));
  for (const p of pending) {
    const row = document.createElement("tr");
    row.dataset.testid = `pending-${p.slot}`;
    row.append(
      cell(`slot ${p.slot}`),
      cell(p.debtor, { testid: `pending-debtor-${p.slot}` }),
      cell(money(p.faceValue), { className: "num" }),
      cell(`due ${formatDate(p.maturity)}`),
    );
    const actions = document.createElement("td");
    const button = Object.assign(document.createElement("button"), { textContent: "Accept" });
    button.dataset.testid = `accept-${p.slot}`;
    button.onclick = () => act(`accept slot ${p.slot}`, () => client.accept(p.slot));
    actions.append(button);
    row.append(actions);
    $("pending").append(row);
  }

  const vouchers = await client.myVouchers();
  $("vouchers").replaceChildren(...(vouchers.length ? [] : [emptyRow(6)]));
  for (const v of vouchers) {
    const row = document.createElement("tr");
    row.dataset.testid = `voucher-${v.label}`;
    row.append(
      cell(`${v.label}${v.frozen ? " (frozen)" : ""}`),
      cell(v.debtor, { testid: `debtor-${v.label}` }),
      cell(formatDate(v.maturity)),
      cell(money(v.value), { className: "num", testid: `value-${v.label}` }),
      cell(v.lineage.join(" ← ")),
    );
    const actions = document.createElement("td");
    actions.className = "row";
    const to = Object.assign(document.createElement("input"), { placeholder: "to 0x…", size: 14 });
    to.setAttribute("aria-label", `receiver of value from ${v.label}`);
    to.dataset.testid = `to-${v.label}`;
    const amount = Object.assign(document.createElement("input"), { placeholder: "amount", size: 10 });
    amount.setAttribute("aria-label", `amount to send from ${v.label}`);
    amount.dataset.testid = `amount-${v.label}`;
    const send = Object.assign(document.createElement("button"), { textContent: "Split & send" });
    send.dataset.testid = `send-${v.label}`;
    send.onclick = () =>
      act(`send ${amount.value} of ${v.label}`, async () => client.splitTransfer(v.tokenId, to.value.trim(), parseAmount(amount.value)));
    const redeem = Object.assign(document.createElement("button"), { textContent: "Redeem" });
    redeem.dataset.testid = `redeem-${v.label}`;
    redeem.onclick = () => act(`redeem ${v.label}`, () => client.redeem(v.tokenId));
    actions.append(to, amount, send, redeem);
    row.append(actions);
    $("vouchers").append(row);
  }
  await refreshOffers();
}

const button = (text, testid, onclick) => {
  const b = Object.assign(document.createElement("button"), { textContent: text, onclick });
  b.dataset.testid = testid;
  return b;
};
const until = (deadline) => new Date(Number(deadline) * 1000).toISOString().slice(0, 16).replace("T", " ");

/** The board's offers for this member's vouchers (as seller) and its own (as financier). */
async function refreshOffers() {
  let mine;
  let published;
  try {
    mine = await board.list({ seller: client.account });
    published = mine === null ? null : await board.list({ financier: client.account });
  } catch (error) {
    $("board-note").textContent = error.message;
    return;
  }
  if (mine === null) {
    $("board-note").textContent =
      "This page is served without an offer board: financiers send their signed offers as JSON (below).";
    $("offers-for-me").replaceChildren(emptyRow(8));
    $("my-offers").replaceChildren(emptyRow(7));
    return;
  }
  $("board-note").textContent = "";
  $("offers-for-me").replaceChildren(...(mine.length ? [] : [emptyRow(8)]));
  for (const o of mine) {
    const row = document.createElement("tr");
    row.dataset.testid = `offer-${o.offer.financier}-${o.offer.nonce}`;
    const cost = o.effectiveAnnualCost === null ? "n/a" : `${(Number(o.effectiveAnnualCost) * 100).toFixed(2)} % a year`;
    row.append(
      cell(o.voucher),
      cell(o.financier.name || o.financier.address),
      cell(money(o.offer.value), { className: "num" }),
      cell(percent(o.offer.rateBps)),
      cell(money(o.price), { className: "num", testid: "offer-price" }),
      cell(cost, { testid: "offer-cost" }),
      cell(until(o.offer.deadline)),
    );
    const actions = document.createElement("td");
    if (o.takeable) {
      actions.append(button("Take", `take-${o.offer.nonce}`, () =>
        act(`discount ${o.voucher} at ${percent(o.offer.rateBps)} for ${money(o.price)}`,
          () => client.submitOffer(o.offer, o.signature))));
    } else {
      actions.append(Object.assign(document.createElement("span"), {
        className: "muted", textContent: `cannot be taken now: ${o.refusal}`,
      }));
    }
    row.append(actions);
    $("offers-for-me").append(row);
  }
  $("my-offers").replaceChildren(...(published.length ? [] : [emptyRow(7)]));
  for (const o of published) {
    const row = document.createElement("tr");
    row.dataset.testid = `my-offer-${o.offer.nonce}`;
    row.append(
      cell(o.voucher),
      cell(o.seller.name || o.seller.address),
      cell(money(o.offer.value), { className: "num" }),
      cell(percent(o.offer.rateBps)),
      cell(until(o.offer.deadline)),
      cell(o.takeable ? "open" : `cannot be taken now: ${o.refusal}`),
    );
    const actions = document.createElement("td");
    actions.append(button("Cancel", `cancel-${o.offer.nonce}`, () =>
      act(`cancel the offer for ${o.voucher} (nonce ${o.offer.nonce})`, () => client.cancelOffer(o.offer.nonce))));
    row.append(actions);
    $("my-offers").append(row);
  }
}

/** "Commerce Bank (0x1234…)": the member's chain name, shown as text by the caller. */
async function whoIs(address) {
  const m = await client.member(address).catch(() => ({ name: "" }));
  return `${m.name || "not a member"} (${address})`;
}

async function showParties(offer) {
  $("offer-parties").textContent =
    `financier: ${await whoIs(offer.financier)} · seller: ${await whoIs(offer.seller)}`;
}

$("connect").onclick = () => busy(async () => {
  banner("");
  try {
    const artifacts = await loadArtifacts(".");
    client = await connect(window.ethereum, artifacts);
    await refresh();
  } catch (error) {
    client = null;
    banner(error.message);
  }
});

$("sign-offer").onclick = () => busy(async () => {
  try {
    const tokenId = parseVoucher($("offer-token").value);
    const value = parseAmount($("offer-value").value);
    const rateBps = BigInt($("offer-rate").value || "0");
    const seller = $("offer-seller").value.trim() || undefined; // default: the voucher's holder now
    $("offer-parties").textContent = "";
    txStatus("pending", "approve the desk and sign the offer in your wallet");
    const line = await client.read("SettlementToken", "allowance", [client.account, client.address("DiscountDesk")]);
    if (line < value) await client.approveDesk(value);
    const signed = await client.signOffer({ tokenId, value, rateBps, seller });
    $("offer-json").value = offerToJson(signed);
    await showParties(signed.offer);
    const price = await client.quote(tokenId, value, rateBps);
    $("quote").textContent = `price now: ${money(price)}`;
    let where = "send the JSON below to the seller";
    if ((await board.list({ financier: client.account })) !== null) {
      await board.publish(signed);
      where = "published on the offer board";
    }
    txStatus("confirmed", `offer for ${label(tokenId)} signed and ${where}`);
    await refreshOffers();
  } catch (error) {
    txStatus("failed", client ? client.describeError(error) : error.message);
  }
});

$("submit-offer").onclick = () => busy(async () => {
  $("offer-parties").textContent = "";
  if (!client) {
    txStatus("failed", "connect your wallet first");
    return;
  }
  let signed;
  try {
    signed = offerFromJson($("offer-json").value);
  } catch {
    txStatus("failed", "the offer is not valid JSON: paste it exactly as the financier sent it");
    return;
  }
  let offer;
  try {
    offer = client.parseOffer(signed?.offer);
  } catch (error) {
    txStatus("failed", `the offer cannot be used: ${client.describeError(error)}`);
    return;
  }
  await showParties(offer);
  // Only the seller the financier named may submit: say so now rather than send a transaction
  // the desk would refuse (NotOfferSeller).
  if (offer.seller !== client.account) {
    txStatus(
      "failed",
      `discount ${label(offer.tokenId)}: this offer is for seller ${await whoIs(offer.seller)}; ` +
        `only the seller may submit it, and you are ${client.account}`,
    );
    return;
  }
  const price = await client.quote(offer.tokenId, offer.value, offer.rateBps).catch(() => null);
  if (price !== null) $("quote").textContent = `price now: ${money(price)}`;
  await act(`discount ${label(offer.tokenId)}`, () => client.submitOffer(offer, signed.signature));
});

$("refresh").onclick = () => busy(refresh);
// New offers and the chain's changes appear without a reload; never while an action runs.
setInterval(() => {
  if (client && running === 0) busy(refresh).catch(() => {});
}, 5000);

if (window.ethereum) $("connect").click();
