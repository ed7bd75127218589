// The member page: connects the member's EIP-1193 wallet and lets it act on its own vouchers.
import {
  connect,
  formatAmount,
  formatDate,
  label,
  loadArtifacts,
  offerFromJson,
  offerToJson,
  parseAmount,
} from "./bridge.js";

const $ = (id) => document.getElementById(id);
let client = null;

function banner(message) {
  $("banner").textContent = message;
  $("banner").className = message ? "error" : "";
}

function txStatus(state, text) {
  $("tx").className = state;
  $("tx").textContent = `${state}: ${text}`;
}

// While an action or a refresh runs, <body data-busy="1">: tests and screen readers can tell.
async function busy(fn) {
  document.body.dataset.busy = "1";
  try {
    await fn();
  } finally {
    document.body.dataset.busy = "0";
  }
}

async function act(what, fn) {
  document.body.dataset.busy = "1";
  txStatus("pending", what);
  try {
    const receipt = await fn();
    txStatus("confirmed", `${what} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`);
  } catch (error) {
    txStatus("failed", `${what}: ${client ? client.describeError(error) : error.message}`);
  }
  await busy(refresh);
}

function parseVoucher(text) {
  const [slot, serial] = String(text).trim().split(".");
  if (!/^\d+$/.test(slot ?? "") || !/^\d+$/.test(serial ?? "")) throw new Error(`"${text}" is not a voucher (slot.serial, e.g. 1.2)`);
  return (BigInt(slot) << 32n) | BigInt(serial);
}

async function refresh() {
  if (!client) return;
  const m = await client.member();
  const cash = await client.cash();
  $("who").textContent = `${m.name || "unknown account"} · ${client.account.slice(0, 10)}… · chain ${client.chainId}`;
  $("member").innerHTML = "";
  $("member").append(
    `Status: ${m.status} · roles: ${m.roles.join(", ") || "none"} · cash: CNY ${formatAmount(cash)}`,
  );
  if (m.status !== "active") banner(`This account is ${m.status} in the consortium: it cannot hold or move vouchers.`);

  const pending = await client.pendingIssuances();
  $("pending").innerHTML = pending.length ? "" : '<tr><td class="muted">none</td></tr>';
  for (const p of pending) {
    const row = document.createElement("tr");
    row.innerHTML = `<td>slot ${p.slot}</td><td>${p.debtor}</td><td class="num">CNY ${formatAmount(p.faceValue)}</td><td>due ${formatDate(p.maturity)}</td>`;
    const cell = document.createElement("td");
    const button = Object.assign(document.createElement("button"), { textContent: "Accept" });
    button.dataset.testid = `accept-${p.slot}`;
    button.onclick = () => act(`accept slot ${p.slot}`, () => client.accept(p.slot));
    cell.append(button);
    row.append(cell);
    $("pending").append(row);
  }

  const vouchers = await client.myVouchers();
  $("vouchers").innerHTML = vouchers.length ? "" : '<tr><td class="muted" colspan="6">none</td></tr>';
  for (const v of vouchers) {
    const row = document.createElement("tr");
    row.dataset.testid = `voucher-${v.label}`;
    row.innerHTML =
      `<td>${v.label}${v.frozen ? " (frozen)" : ""}</td><td>${v.debtor}</td><td>${formatDate(v.maturity)}</td>` +
      `<td class="num" data-testid="value-${v.label}">CNY ${formatAmount(v.value)}</td><td>${v.lineage.join(" ← ")}</td>`;
    const cell = document.createElement("td");
    cell.className = "row";
    const to = Object.assign(document.createElement("input"), { placeholder: "to 0x…", size: 14 });
    to.dataset.testid = `to-${v.label}`;
    const amount = Object.assign(document.createElement("input"), { placeholder: "amount", size: 10 });
    amount.dataset.testid = `amount-${v.label}`;
    const send = Object.assign(document.createElement("button"), { textContent: "Split & send" });
    send.dataset.testid = `send-${v.label}`;
    send.onclick = () =>
      act(`send ${amount.value} of ${v.label}`, async () => client.splitTransfer(v.tokenId, to.value.trim(), parseAmount(amount.value)));
    const redeem = Object.assign(document.createElement("button"), { textContent: "Redeem" });
    redeem.dataset.testid = `redeem-${v.label}`;
    redeem.onclick = () => act(`redeem ${v.label}`, () => client.redeem(v.tokenId));
    cell.append(to, amount, send, redeem);
    row.append(cell);
    $("vouchers").append(row);
  }
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
    txStatus("pending", "approve the desk and sign the offer in your wallet");
    const line = await client.read("SettlementToken", "allowance", [client.account, client.address("DiscountDesk")]);
    if (line < value) await client.approveDesk(value);
    const signed = await client.signOffer({ tokenId, value, rateBps });
    $("offer-json").value = offerToJson(signed);
    const price = await client.quote(tokenId, value, rateBps);
    $("quote").textContent = `price now: CNY ${formatAmount(price)}`;
    txStatus("confirmed", `offer for ${label(tokenId)} signed`);
  } catch (error) {
    txStatus("failed", client ? client.describeError(error) : error.message);
  }
});

$("submit-offer").onclick = () => busy(async () => {
  let signed;
  try {
    signed = offerFromJson($("offer-json").value);
  } catch {
    txStatus("failed", "the offer is not valid JSON: paste it exactly as the financier sent it");
    return;
  }
  const price = await client.quote(signed.offer.tokenId, signed.offer.value, signed.offer.rateBps).catch(() => null);
  if (price !== null) $("quote").textContent = `price now: CNY ${formatAmount(price)}`;
  await act(`discount ${label(signed.offer.tokenId)}`, () => client.submitOffer(signed.offer, signed.signature));
});

if (window.ethereum) $("connect").click();
