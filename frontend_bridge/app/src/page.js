// The member page: connects the member's EIP-1193 wallet and lets it act on its own vouchers.
import {
  connect,
  DOC_TYPES,
  dayToSeconds,
  formatDate,
  formatTime,
  hashFile,
  label,
  loadArtifacts,
  money,
  DocumentVault,
  OfferBoard,
  offerFromJson,
  offerToJson,
  maturityCalendar,
  parseAmount,
  percent,
  portfolio,
  ROLE_NAMES,
} from "./bridge.js";
import { drawTree } from "./lineage.js";

const $ = (id) => document.getElementById(id);
let client = null;
const board = new OfferBoard(".");
const vault = new DocumentVault(".");

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

/** A remark in place of an action or a value: grey text. */
const muted = (text = "") => Object.assign(document.createElement("span"), { className: "muted", textContent: text });

const emptyRow = (colSpan) => {
  const row = document.createElement("tr");
  row.append(cell("none", { className: "muted", colSpan }));
  return row;
};

async function refresh() {
  if (!client) return;
  client.forgetNames(); // names are read once per refresh (a firm may apply again under another)
  const m = await client.member();
  const cash = await client.cash();
  const operator = await client.isOperator();
  const who = m.name || (operator ? "operator" : "unknown account");
  $("who").textContent = `${who} · ${client.account.slice(0, 10)}… · chain ${client.chainId}`;
  $("member").textContent =
    `Status: ${m.status} · roles: ${m.roles.join(", ") || "none"} · cash: ${money(cash)}`;
  // An operator's own account need not be a member: it sees its console, not a member's desk.
  const desk = !(operator && m.status === "none");
  for (const section of document.querySelectorAll(".holder-only")) section.hidden = !desk;
  if (m.status !== "active" && desk) banner(`This account is ${m.status} in the consortium: it cannot hold or move vouchers.`);
  if (!desk) $("member").textContent = "Operator account (not a member of the consortium): the console below.";

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
  const { timestamp: chainTime } = await client.publicClient.getBlock();
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
    const handOver = button("Hand over whole", `handover-${v.label}`, () =>
      act(`hand ${v.label} over to ${to.value.trim()}`, async () => client.handOver(v.tokenId, to.value.trim())));
    // Redeem is offered from maturity on (the chain then decides: paid in full, or pro rata
    // once the slot is overdue); before, the row says when.
    const due = chainTime >= v.maturity ? redeem
      : muted(`redeemable from ${formatDate(v.maturity)}`);
    actions.append(to, amount, send, handOver, due, moreActions(v, vouchers, amount));
    row.append(actions);
    $("vouchers").append(row);
  }
  // Each part on its own: one that cannot be shown (an odd offer, a node's hiccup) says so in
  // its place and leaves the others working.
  await guarded("lineage-note", () => refreshLineage(vouchers));
  const held = portfolio(vouchers);
  $("portfolio").replaceChildren(...(held.length ? [] : [emptyRow(5)]));
  for (const g of held) {
    const row = document.createElement("tr");
    row.append(cell(g.debtor), cell(formatDate(g.maturity)), cell(String(g.count), { className: "num" }),
      cell(money(g.value), { className: "num" }), cell(g.funded ? "in full" : "not yet in full"));
    $("portfolio").append(row);
  }
  await guarded("board-note", refreshOffers);
  await guarded("vault-note", refreshVault);
  const trading = m.roles.includes("core enterprise") || m.roles.includes("supplier");
  $("documents-section").hidden = !trading;
  $("issuer-section").hidden = !m.roles.includes("core enterprise");
  $("operator-section").hidden = !operator;
  if (operator) await guarded("threshold", refreshConsole);
  let named = [];
  if (trading) await guarded("doc-hash", async () => { named = await refreshDocuments(); });
  if (m.roles.includes("core enterprise")) await guarded("credit-line", () => refreshIssuing(named));
}

/** Runs one part of the refresh; its failure is written where that part shows its status. */
async function guarded(noteId, fn) {
  try {
    await fn();
  } catch (error) {
    $(noteId).textContent = `this part could not be shown: ${client.describeError(error)}`;
  }
}

/** "setCreditLimit City Hospital Group → CNY 6,000,000.00": a registry call in people's terms. */
function describeCall({ functionName, args }, names) {
  const who = (a) => names.get(a) || a;
  switch (functionName) {
    case "setCreditLimit": return `credit line of ${who(args[0])} to ${money(args[1])}`;
    case "reinstate": return `reinstate ${who(args[0])}`;
    case "setRoles": return `roles of ${who(args[0])} to ${roleList(args[1])}`;
    case "admit": return `admit ${args[1]} (${args[0]}) as ${roleList(args[2])}`;
    default: return `${functionName}(${args.join(", ")})`;
  }
}
const roleList = (bits) => Object.entries(ROLE_NAMES).filter(([bit]) => Number(bits) & Number(bit)).map(([, n]) => n).join(", ");

/** An operator's console: applications, k-of-n actions waiting for approvals, members. */
async function refreshConsole() {
  const { threshold, firms } = await client.firms();
  const names = new Map(firms.map((f) => [f.address, f.name]));
  $("threshold").textContent = `Acts that admit or give more take ${threshold} operator${threshold > 1 ? "s" : ""}' approval.`;
  const applicants = firms.filter((f) => f.status === "pending");
  $("applications").replaceChildren(...(applicants.length ? [] : [emptyRow(4)]));
  for (const f of applicants) {
    const row = document.createElement("tr");
    row.dataset.testid = `application-${f.address}`;
    row.append(cell(`${f.name} (${f.address})`), cell(f.roles.join(", ")), cell(`${f.approvals} of ${threshold}`));
    const actions = document.createElement("td");
    actions.className = "row";
    // An operator approves a round once (the registry refuses a second: AlreadyApproved).
    actions.append(
      f.approvedByMe ? muted("approved")
        : button("Approve", `approve-${f.address}`, () => act(`approve ${f.name}`, () => client.approveApplicant(f.address))),
      button("Reject", `reject-app-${f.address}`, () => act(`reject ${f.name}`,
        () => client.rejectApplicant(f.address, $("op-reason").value))),
    );
    row.append(actions);
    $("applications").append(row);
  }
  const pending = await client.pendingActions();
  $("pending-actions").replaceChildren(...(pending.length ? [] : [emptyRow(3)]));
  for (const p of pending) {
    const row = document.createElement("tr");
    row.dataset.testid = `action-${p.action}`;
    const what = p.functionName ? describeCall(p, names)
      : `act ${p.action.slice(0, 10)}… begun through another contract (not shown here)`;
    row.append(cell(what), cell(`${p.approvals} of ${p.threshold}`));
    const actions = document.createElement("td");
    if (p.mine) actions.append(muted("approved"));
    else if (!p.functionName) actions.append(muted("co-sign it the way it was begun"));
    else actions.append(button("Co-sign", `cosign-${p.action}`, () => act(`co-sign: ${what}`, () => client.coSign(p))));
    row.append(actions);
    $("pending-actions").append(row);
  }
  const members = firms.filter((f) => f.status === "active" || f.status === "suspended");
  $("firms").replaceChildren(...(members.length ? [] : [emptyRow(5)]));
  for (const f of members) {
    const row = document.createElement("tr");
    row.dataset.testid = `firm-${f.address}`;
    const core = f.roles.includes("core enterprise");
    row.append(cell(`${f.name} (${f.address})`), cell(f.roles.join(", ")), cell(f.status, { testid: `status-${f.address}` }),
      cell(core ? money(f.creditLimit) : "", { className: "num", testid: `limit-${f.address}` }));
    const actions = document.createElement("td");
    actions.className = "row";
    if (f.status === "active") {
      actions.append(button("Suspend", `suspend-${f.address}`, () => act(`suspend ${f.name}`,
        () => client.suspend(f.address, $("op-reason").value))));
    } else {
      actions.append(button("Reinstate", `reinstate-${f.address}`, () => act(`reinstate ${f.name}`,
        () => client.reinstate(f.address))));
    }
    if (core) {
      const limit = Object.assign(document.createElement("input"), { placeholder: "new credit line", size: 14 });
      limit.setAttribute("aria-label", `new credit line of ${f.name}`);
      limit.dataset.testid = `new-limit-${f.address}`;
      actions.append(limit, button("Set line", `set-limit-${f.address}`, () => act(`credit line of ${f.name} to ${limit.value}`,
        async () => client.setCreditLimit(f.address, parseAmount(limit.value)))));
    }
    row.append(actions);
    $("firms").append(row);
  }
}

/** Commitments of the documents sealed in the vault for this member (refreshVault). */
let sealed = new Set();

/** The member's documents in the vault: held (its file there and a key wrapped for this
 *  member), shared with whom, verified by whom. A lost file is said, in red, not skipped. */
async function refreshVault() {
  const items = await vault.documents(client.account);
  $("vault-section").hidden = items === null;
  if (items === null) return;
  $("vault-note").textContent = "";
  sealed = new Set(items.filter((d) => d.readable).map((d) => d.commitment));
  $("vault-docs").replaceChildren(...(items.length ? [] : [emptyRow(6)]));
  for (const d of items) {
    const row = document.createElement("tr");
    row.dataset.testid = `vault-${d.commitment}`;
    const state = !d.filePresent ? "file missing from the vault: restore it from a backup"
      : d.readable ? "held" : "filed, no key for you";
    // From the vault's signed disclosure and verification records only.
    const who = (address, name) => (address === client.account ? "you" : name || address);
    const shared = d.readers.length
      ? d.readers.map((r) => `${who(r.by, r.byName)} → ${who(r.reader, r.readerName)} on ${formatTime(r.at)}`).join("; ")
      : "not shared beyond its parties";
    const verified = d.verified.length
      ? d.verified.map((v) => `${who(v.by, v.byName)} on ${formatTime(v.at)} (voucher ${v.voucher}` +
          `${v.confirmed ? "" : ", not yet confirmed by its counterparty"})`).join("; ")
      : "not verified yet";
    row.append(
      cell(d.record ? `#${d.record}` : "not anchored"),
      cell(d.kind.replace("_", " ")),
      cell(d.ownerName || d.owner),
      cell(state, { testid: `vault-held-${d.commitment}`, className: d.filePresent ? "" : "bad" }),
      cell(shared, { testid: `vault-shared-${d.commitment}` }),
      cell(verified, { testid: `vault-verified-${d.commitment}` }),
    );
    $("vault-docs").append(row);
  }
}

/** Documents the other side anchored with this member, waiting for its confirmation. */
async function refreshDocuments() {
  const named = await client.recordsNamingMe();
  const waiting = named.filter((r) => r.status === "registered");
  $("to-decide").replaceChildren(...(waiting.length ? [] : [emptyRow(6)]));
  for (const r of waiting) {
    const row = document.createElement("tr");
    row.dataset.testid = `record-${r.recordId}`;
    row.append(cell(`#${r.recordId}`), cell(r.docType), cell(r.registrantName || r.registrant),
      cell(money(r.amount), { className: "num" }), cell(r.docHash, { className: "hash", testid: `fingerprint-${r.recordId}` }));
    const actions = document.createElement("td");
    actions.className = "row";
    if (sealed.has(r.docHash)) {
      // A sealed document's commitment is salted: a copy's bare hash cannot match it, and
      // only the member's own key opens the envelope, which a browser wallet cannot do.
      actions.append(muted(`sealed in the vault for you: open, check and confirm it with ` +
        `"ape run docs confirm ${r.recordId}"`));
      row.append(actions);
      $("to-decide").append(row);
      continue;
    }
    // Before confirming, the counterparty checks the fingerprint against its own copy.
    const copy = Object.assign(document.createElement("input"), { type: "file" });
    copy.setAttribute("aria-label", `your copy of ${r.docType} #${r.recordId}, to compare`);
    copy.dataset.testid = `copy-${r.recordId}`;
    const verdict = muted();
    verdict.dataset.testid = `copy-verdict-${r.recordId}`;
    copy.onchange = async () => {
      const file = copy.files[0];
      if (!file) return;
      const mine = await hashFile(file);
      verdict.textContent = mine === r.docHash ? `your ${file.name} matches` : `your ${file.name} does NOT match (${mine})`;
    };
    actions.append(copy, verdict,
      button("Confirm", `confirm-${r.recordId}`, () => act(`confirm ${r.docType} #${r.recordId}`,
        () => client.decideDocument(r.recordId, true))),
      button("Reject", `reject-${r.recordId}`, () => act(`reject ${r.docType} #${r.recordId}`,
        () => client.decideDocument(r.recordId, false))),
    );
    row.append(actions);
    $("to-decide").append(row);
  }
  return named;
}

/** A core enterprise's credit line, the invoices it can issue against (from the records
 *  naming it, `named`) and its issuances. */
async function refreshIssuing(named) {
  const line = await client.creditLine();
  $("credit-line").textContent = `Credit line ${money(line.limit)} · used by issuances not yet paid in full ${money(line.outstanding)}` +
    ` · available ${money(line.limit > line.outstanding ? line.limit - line.outstanding : 0n)}`;
  const invoices = named.filter((r) => r.docType === "invoice" && r.status === "confirmed" && r.amount > r.reserved);
  $("invoices").replaceChildren(...(invoices.length ? [] : [emptyRow(5)]));
  for (const r of invoices) {
    const row = document.createElement("tr");
    row.dataset.testid = `invoice-${r.recordId}`;
    row.append(cell(`#${r.recordId}`), cell(r.registrantName || r.registrant), cell(money(r.amount), { className: "num" }),
      cell(money(r.amount - r.reserved), { className: "num" }));
    const actions = document.createElement("td");
    actions.className = "row";
    const face = Object.assign(document.createElement("input"), { placeholder: "face value", size: 12 });
    face.setAttribute("aria-label", `face value to issue against invoice ${r.recordId}`);
    face.dataset.testid = `face-${r.recordId}`;
    const due = Object.assign(document.createElement("input"), { type: "date" });
    due.setAttribute("aria-label", `maturity of the voucher against invoice ${r.recordId}`);
    due.dataset.testid = `due-${r.recordId}`;
    actions.append(face, due, button("Issue", `issue-${r.recordId}`, () =>
      act(`issue ${face.value} against invoice #${r.recordId}`, async () => client.issue({
        creditor: r.registrant, faceValue: parseAmount(face.value), maturity: dayToSeconds(due.value), recordId: r.recordId,
      }))));
    row.append(actions);
    $("invoices").append(row);
  }
  const issuances = await client.myIssuances();
  const weeks = maturityCalendar(issuances);
  $("calendar").replaceChildren(...(weeks.length ? [] : [emptyRow(5)]));
  for (const w of weeks) {
    const row = document.createElement("tr");
    row.dataset.testid = `week-${w.week}`;
    row.append(cell(w.week), cell(String(w.slots), { className: "num" }), cell(money(w.due), { className: "num" }),
      cell(money(w.funded), { className: "num" }), cell(money(w.due - w.funded), { className: "num" }));
    $("calendar").append(row);
  }
  $("issuances").replaceChildren(...(issuances.length ? [] : [emptyRow(7)]));
  for (const i of issuances) {
    const row = document.createElement("tr");
    row.dataset.testid = `issuance-${i.slot}`;
    row.append(cell(`slot ${i.slot}`), cell(i.creditorName || i.creditor), cell(money(i.faceValue), { className: "num" }),
      cell(money(i.funded), { className: "num", testid: `funded-${i.slot}` }), cell(formatDate(i.maturity)),
      cell(i.status, { testid: `state-${i.slot}` }));
    const actions = document.createElement("td");
    actions.className = "row";
    if (i.status === "issued") {
      actions.append(button("Cancel", `cancel-slot-${i.slot}`, () => act(`cancel slot ${i.slot}`,
        () => client.cancelIssuance(i.slot))));
    } else if (i.status === "accepted" && i.funded < i.faceValue) {
      const amount = Object.assign(document.createElement("input"), { placeholder: "amount", size: 12 });
      amount.setAttribute("aria-label", `amount to pay into slot ${i.slot}`);
      amount.dataset.testid = `fund-amount-${i.slot}`;
      actions.append(amount, button("Fund", `fund-${i.slot}`, () =>
        act(`fund slot ${i.slot} with ${amount.value}`, async () => client.fund(i.slot, parseAmount(amount.value)))));
    }
    row.append(actions);
    $("issuances").append(row);
  }
}

let treeChart = null;

/** The chosen slot's lineage as a tree, from the read API, cut to this member's part of it:
 *  its vouchers, their ancestors back to the root, and what it split off them. Other
 *  holders' later dealings stay out of its picture. */
async function refreshLineage(vouchers) {
  const slots = [...new Set(vouchers.map((v) => String(v.slot)))];
  const chosen = slots.includes($("lineage-slot").value) ? $("lineage-slot").value : slots[0];
  $("lineage-slot").replaceChildren(...slots.map((slot) => Object.assign(document.createElement("option"),
    { value: slot, textContent: `slot ${slot}` })));
  if (!chosen) {
    $("lineage-note").textContent = "no vouchers";
    if (treeChart) treeChart.clear();
    return;
  }
  $("lineage-slot").value = chosen;
  const res = await fetch(`./api/slots/${chosen}`);
  if (!res.ok) { // no read API here (404), or a proxy that keeps the slot route from members (403)
    $("lineage-note").textContent =
      "The lineage picture needs the read API's slot route, not served here: each voucher's lineage is in the table below.";
    if (treeChart) treeChart.clear();
    return;
  }
  const detail = await res.json();
  const mine = new Set(vouchers.filter((v) => String(v.slot) === chosen).map((v) => v.label));
  const byLabel = new Map(detail.tree.map((n) => [n.label, n]));
  const keep = new Set();
  for (const label of mine) {
    for (let n = byLabel.get(label); n; n = byLabel.get(n.parent)) keep.add(n.label);
  }
  for (const n of detail.tree) if (mine.has(n.parent)) keep.add(n.label);
  const nodes = detail.tree.filter((n) => keep.has(n.label));
  const { default: echarts } = await import("./supervision-charts.js");
  treeChart ??= echarts.init($("member-tree"), null, { renderer: "svg" });
  drawTree(treeChart, $("member-tree"), nodes, {
    nameOf: (party) => party?.name || party?.address || "unnamed account", amount: money, mine,
    description: `Lineage of your vouchers in slot ${chosen}: ${nodes.length} vouchers, yours marked.`,
  });
  $("lineage-note").textContent = `${mine.size} of yours in slot ${chosen}, with their ancestors back to the root`;
  $("member-tree").dataset.labels = nodes.map((n) => n.label).join(" ");
}

/** Merging into another voucher of the same slot, and pledging, behind a disclosure: the
 *  amount is the row's. */
function moreActions(v, vouchers, amount) {
  const more = document.createElement("details");
  const summary = Object.assign(document.createElement("summary"), { textContent: "Merge or pledge" });
  summary.dataset.testid = `more-${v.label}`;
  const box = document.createElement("div");
  box.className = "row";
  const target = document.createElement("select");
  target.setAttribute("aria-label", `voucher to merge value of ${v.label} into`);
  target.dataset.testid = `merge-into-${v.label}`;
  const siblings = vouchers.filter((o) => o.slot === v.slot && o.tokenId !== v.tokenId);
  target.replaceChildren(...siblings.map((o) => Object.assign(document.createElement("option"),
    { value: String(o.tokenId), textContent: o.label })));
  const merge = button("Merge", `merge-${v.label}`, () => act(`merge ${amount.value} of ${v.label} into ${label(BigInt(target.value || 0))}`,
    async () => {
      if (!target.value) throw new Error(`you hold no other voucher of slot ${v.slot} to merge into`);
      return client.merge(v.tokenId, BigInt(target.value), parseAmount(amount.value));
    }));
  const field = (testid, placeholder, aria, extra = {}) => {
    const input = Object.assign(document.createElement("input"), { placeholder, ...extra });
    input.setAttribute("aria-label", aria);
    input.dataset.testid = testid;
    return input;
  };
  const pledgee = field(`pledgee-${v.label}`, "pledgee 0x…", `financier to pledge ${v.label} to`, { size: 14 });
  const secured = field(`secured-${v.label}`, "loan amount", `loan the pledge of ${v.label} secures`, { size: 12 });
  const due = field(`pledge-due-${v.label}`, "", `day the loan against ${v.label} is due`, { type: "date" });
  const pledge = button("Pledge", `pledge-${v.label}`, () => act(`pledge ${amount.value} of ${v.label}`, async () =>
    client.pledge({ tokenId: v.tokenId, value: parseAmount(amount.value), pledgee: pledgee.value.trim(),
      secured: parseAmount(secured.value), dueDate: dayToSeconds(due.value) })));
  box.append(target, merge, pledgee, secured, due, pledge);
  more.append(summary, box);
  return more;
}

const button = (text, testid, onclick) => {
  const b = Object.assign(document.createElement("button"), { textContent: text, onclick });
  b.dataset.testid = testid;
  return b;
};

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
    // The price is the chain's quote for the signed terms, not the board's word for it.
    const price = await client.quote(o.offer.tokenId, o.offer.value, o.offer.rateBps).catch(() => null);
    const voucher = label(BigInt(o.offer.tokenId));
    row.append(
      cell(voucher),
      cell(o.financier.name || o.financier.address),
      cell(money(o.offer.value), { className: "num" }),
      cell(percent(o.offer.rateBps)),
      cell(price === null ? "n/a" : money(price), { className: "num", testid: "offer-price" }),
      cell(cost, { testid: "offer-cost" }),
      cell(formatTime(o.offer.deadline)),
    );
    const actions = document.createElement("td");
    if (o.takeable) {
      actions.append(button("Take", `take-${o.offer.nonce}`, () =>
        act(`discount ${voucher} at ${percent(o.offer.rateBps)} for ${price === null ? "the quoted price" : money(price)}`,
          () => client.submitOffer(o.offer, o.signature))));
    } else {
      actions.append(muted(`cannot be taken now: ${o.refusal}`));
    }
    row.append(actions);
    $("offers-for-me").append(row);
  }
  const taken = await client.offersTaken();
  $("offers-taken").replaceChildren(...(taken.length ? [] : [emptyRow(6)]));
  for (const t of taken) {
    const row = document.createElement("tr");
    row.dataset.testid = `taken-${label(t.financierTokenId)}`;
    row.append(cell(formatTime(t.timestamp)), cell(t.sellerName || t.seller), cell(label(t.financierTokenId)),
      cell(money(t.value), { className: "num" }), cell(percent(t.rateBps)), cell(money(t.price), { className: "num" }));
    $("offers-taken").append(row);
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
      cell(formatTime(o.offer.deadline)),
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
    const rate = $("offer-rate").value.trim();
    if (!/^\d+$/.test(rate)) throw new Error(`rate "${rate}" is not a whole number of basis points a year (450 is 4.50 %)`);
    const rateBps = BigInt(rate);
    const seller = $("offer-seller").value.trim() || undefined; // default: the voucher's holder now
    $("offer-parties").textContent = "";
    // Ask the chain before asking for a signature: the desk's own quote refuses a rate above
    // its cap, a matured voucher or a discount that would take everything; the value must be
    // the holder's to sell.
    await client.quote(tokenId, value, rateBps);
    const [, , held] = await client.read("ReceivableVoucher", "tokenInfo", [tokenId]);
    if (value > held) throw new Error(`${label(tokenId)} holds ${money(held)}: an offer for ${money(value)} could never be taken`);
    txStatus("pending", "approve the desk and sign the offer in your wallet");
    const line = await client.read("SettlementToken", "allowance", [client.account, client.address("DiscountDesk")]);
    if (line < value) await client.approveDesk(value);
    const signed = await client.signOffer({ tokenId, value, rateBps, seller });
    $("offer-json").value = offerToJson(signed);
    await showParties(signed.offer);
    const price = await client.quote(tokenId, value, rateBps);
    $("quote").textContent = `price now: ${money(price)}`;
    const where = (await board.publish(signed)) ? "published on the offer board" : "send the JSON below to the seller";
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

$("doc-type").replaceChildren(...DOC_TYPES.map((t) => Object.assign(document.createElement("option"), { value: t, textContent: t })));
$("doc-file").onchange = () => busy(async () => {
  const file = $("doc-file").files[0];
  $("doc-hash").textContent = file ? `fingerprint (keccak-256) of ${file.name}: ${await hashFile(file)}` : "";
});
$("anchor").onclick = () => {
  const file = $("doc-file").files[0];
  act(`anchor ${$("doc-type").value}${file ? ` ${file.name}` : ""}`, async () => {
    if (!file) throw new Error("choose the document's file first: only its fingerprint is sent");
    const parent = $("doc-parent").value.trim();
    if (parent !== "" && !/^\d+$/.test(parent)) throw new Error(`parent record "${parent}" is not a record number`);
    return client.registerDocument({
      docType: $("doc-type").value, docHash: await hashFile(file), counterparty: $("doc-counterparty").value.trim(),
      amount: parseAmount($("doc-amount").value), parentId: parent === "" ? 0n : BigInt(parent),
    });
  });
};
$("freeze").onclick = () => act(`freeze ${$("freeze-token").value}`,
  async () => client.freeze(parseVoucher($("freeze-token").value), $("op-reason").value));
$("unfreeze").onclick = () => act(`unfreeze ${$("freeze-token").value}`,
  async () => client.unfreeze(parseVoucher($("freeze-token").value)));
$("lineage-slot").onchange = () => busy(refresh);
$("refresh").onclick = () => busy(refresh);
// New offers and the chain's changes appear without a reload: on a new block, never while an
// action runs or while the member is filling in a row (a refresh rebuilds the rows).
let lastBlock = null;
const editing = () => {
  const focused = document.activeElement;
  return (focused && focused !== document.body && focused.closest("tbody") !== null)
    || [...document.querySelectorAll("main tbody input")].some((i) => i.type !== "file" && i.value !== "")
    || document.querySelector("main tbody details[open]") !== null;
};
setInterval(async () => {
  if (!client || running > 0 || editing()) return;
  const block = await client.publicClient.getBlockNumber().catch(() => null);
  if (block === null || block === lastBlock) return;
  lastBlock = block;
  busy(refresh).catch(() => {});
}, 5000);

if (window.ethereum) $("connect").click();
