// The supervision view: the auditor's or regulator's read-only picture of the whole ledger,
// fed only by the read API (scf/api.py, under /api beside this page). It polls /api/status
// and fetches everything again when a new block has been indexed.
//
// Every name and string shown comes from the chain or the API and is untrusted (a firm
// chooses its own name): it goes into the page with createElement/textContent, and into the
// charts as plain label text, which ECharts' SVG renderer writes with createTextNode:
// nothing here is ever parsed as HTML, and no tooltip renders HTML (richText only).
import SHARED from "../../constants.json";
import { formatDate, money } from "./bridge.js";
import { drawTree } from "./lineage.js";

// ECharts (./supervision-charts.js) loads in its own chunk while the first answers of the API
// are on their way (started at the end of this module): the view opens sooner.
let echarts = null;
let chartsArrived;
const chartsLoaded = new Promise((resolve, reject) => {
  chartsArrived = { resolve, reject };
});
function loadCharts() {
  import("./supervision-charts.js").then(({ default: loaded }) => {
    echarts = loaded;
    chart("tree-chart").on("click", (params) => {
      if (params.data?.node) selectVoucher(params.data.node.label);
    });
    chartsArrived.resolve();
  }, (error) => chartsArrived.reject(new Error(`the charts could not be loaded (${error.message})`)));
}

const $ = (id) => document.getElementById(id);
const PARAMS = new URLSearchParams(location.search);
const POLL_MS = Math.max(200, Number(PARAMS.get("poll")) || 1500); // ?poll=ms: tests poll faster
const PAGE = 25; // slots per page
const MAX_LIST = 500; // the API's largest page: members for the filters
const UNIT = 10 ** SHARED.decimals;
const DAY = 86_400;

const state = {
  block: null, // the block everything on screen was fetched at
  offset: 0,
  filters: {},
  slot: null, // the slot whose lineage is shown
  voucher: null, // the voucher whose details are shown
  names: new Map(), // address -> member name (untrusted), for alert links
};
const charts = {};

// ------------------------------------------------------------------- fetching

class ApiError extends Error {}

async function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  const url = `api/${path}${query.size ? `?${query}` : ""}`;
  let res;
  try {
    res = await fetch(url, { headers: { accept: "application/json" } });
  } catch (error) {
    throw new ApiError(`the read API cannot be reached (${error.message})`);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(`${path}: ${body?.error ?? `HTTP ${res.status}`}`);
  return body;
}

function banner(message) {
  $("banner").textContent = message;
  $("banner").className = message ? "error" : "";
}

// ------------------------------------------------------------------- building blocks

/** An element with properties and children; strings become text nodes, never markup. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "testid") node.dataset.testid = value;
    else if (key === "class") node.className = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

const shortAddress = (address) => `${address.slice(0, 6)}…${address.slice(-4)}`;
const nameOf = (party) => party?.name || "unnamed account";

/** A party as text: its chosen name, then its address in short (the full one on hover). */
function partyNode(party, testid) {
  return el("span", { testid, title: party.address }, el("span", { class: "name", text: nameOf(party) }), " ",
    el("span", { class: "hash addr muted", text: shortAddress(party.address) }));
}

const td = (content, props = {}) => el("td", props, content);
const amount = (minor) => money(minor); // "CNY 1,234.56"
const chartAmount = (minor) => Number(BigInt(minor)) / UNIT; // bar lengths only: exact figures go in text
const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
const axisMoney = (value) => `${SHARED.currency} ${compact.format(value)}`;
const timeOf = (seconds) => `${formatDate(seconds)} ${new Date(Number(seconds) * 1000).toISOString().slice(11, 16)} UTC`;

/** "12.34 %" of used credit, exact from the minor units. */
function percent(part, whole) {
  if (BigInt(whole) === 0n) return BigInt(part) > 0n ? "no line" : "–";
  const bp = (BigInt(part) * 10_000n) / BigInt(whole);
  return `${bp / 100n}.${(bp % 100n).toString().padStart(2, "0")} %`;
}

function chart(id) {
  if (!charts[id]) {
    charts[id] = echarts.init($(id), null, { renderer: "svg" });
    new ResizeObserver(() => charts[id].resize()).observe($(id));
  }
  return charts[id];
}

// ------------------------------------------------------------------- the status line

function renderStatus(status) {
  $("status").textContent =
    `chain ${status.chainId} · block ${status.block} (${timeOf(status.blockTime)}) · ` +
    `${status.indexedEvents} events indexed · ${status.alerts} alert${status.alerts === 1 ? "" : "s"}`;
}

// ------------------------------------------------------------------- slots

function fillSelect(select, options, placeholder) {
  const keep = select.value;
  select.replaceChildren(el("option", { value: "", text: placeholder }),
    ...options.map(([value, text]) => el("option", { value, text })));
  select.value = options.some(([value]) => value === keep) ? keep : "";
}

function drawFilterChoices(members, status) {
  state.names = new Map(members.items.map((m) => [m.address, m.name]));
  const label = (m) => `${m.name || "unnamed account"} (${shortAddress(m.address)})`;
  const debtors = members.items.filter((m) => m.roles.includes("core enterprise"));
  fillSelect($("f-debtor"), debtors.map((m) => [m.address, label(m)]), "any debtor");
  const holders = members.items.filter((m) => !m.roles.includes("core enterprise") || BigInt(m.holdings) > 0n);
  fillSelect($("f-holder"), holders.map((m) => [m.address, label(m)]), "any holder");
  fillSelect($("f-status"), (status.slotStates ?? []).map((s) => [s, s]), "any status");
}

/** Start and end of the chosen days, UTC, as unix seconds. */
function dayStart(value) {
  if (!value) return undefined;
  const [y, m, d] = value.split("-").map(Number);
  return Date.UTC(y, m - 1, d) / 1000;
}

function readFilters() {
  const from = dayStart($("f-from").value);
  const to = dayStart($("f-to").value);
  return {
    debtor: $("f-debtor").value || undefined,
    holder: $("f-holder").value || undefined,
    status: $("f-status").value || undefined,
    maturityFrom: from,
    maturityTo: to === undefined ? undefined : to + DAY - 1,
  };
}

// Each fetch of the slot list takes a ticket; only the latest one is drawn (a refresh started
// before the filters changed must not draw the old list over the new one).
let slotTicket = 0;

async function loadSlots() {
  const ticket = ++slotTicket;
  const page = await api("slots", { ...state.filters, offset: state.offset, limit: PAGE });
  if (ticket === slotTicket && page.total > 0 && state.offset >= page.total) {
    state.offset = Math.floor((page.total - 1) / PAGE) * PAGE; // the list shrank under us
    return loadSlots();
  }
  return { ...page, ticket };
}

function renderSlots(page) {
  if (page.ticket !== slotTicket) return;
  const filtered = Object.values(state.filters).some((v) => v !== undefined);
  const one = page.total === 1;
  $("slot-count").textContent = `${page.total} slot${one ? "" : "s"}${filtered ? ` match${one ? "es" : ""} the filters` : ""}`;
  const rows = page.items.map((s) =>
    el("tr", { testid: `slot-row-${s.slot}` },
      td(el("button", {
        type: "button", class: "link", testid: `slot-${s.slot}`, text: String(s.slot),
        "aria-label": `Show the lineage of slot ${s.slot}`, onclick: () => showSlot(s.slot, { scroll: true }),
      })),
      td(partyNode(s.debtor), { testid: `slot-debtor-${s.slot}` }),
      td(partyNode(s.creditor)),
      td(amount(s.faceValue), { class: "num", testid: `slot-face-${s.slot}` }),
      td(amount(s.funded), { class: "num", testid: `slot-funded-${s.slot}` }),
      td(formatDate(s.maturity), { class: "date", testid: `slot-maturity-${s.slot}` }),
      td(el("span", { class: `status ${s.status}`, text: s.status }), { testid: `slot-status-${s.slot}` }),
      td(`${s.vouchers}${s.frozen ? ` (${s.frozen} frozen)` : ""}`, { class: "num count", testid: `slot-vouchers-${s.slot}` }),
    ));
  $("slot-rows").replaceChildren(...(rows.length ? rows : [el("tr", {}, td("no slot matches", { colspan: 8, class: "muted" }))]));
  const last = Math.min(page.offset + page.items.length, page.total);
  $("page").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "";
  $("prev").disabled = page.offset === 0;
  $("next").disabled = last >= page.total;
}

// ------------------------------------------------------------------- exposure

function renderExposure(exposure) {
  const debtors = exposure.debtors;
  $("debtor-rows").replaceChildren(...debtors.map((d) =>
    el("tr", { testid: `debtor-${d.debtor.address}` },
      td(partyNode(d.debtor)),
      td(amount(d.creditLimit), { class: "num" }),
      td(amount(d.outstanding), { class: "num", testid: "outstanding" }),
      td(percent(d.outstanding, d.creditLimit), { class: "num", testid: "used" }),
      td(String(d.slots), { class: "num" }),
      td(amount(d.faceValue), { class: "num" }),
      td(amount(d.funded), { class: "num" }),
    )));
  const rows = [];
  for (const f of exposure.financiers) {
    f.byDebtor.forEach((b, i) => rows.push(el("tr", { testid: `exposure-${f.financier.address}-${b.debtor.address}` },
      i === 0 ? td(partyNode(f.financier), { rowspan: f.byDebtor.length + 1 }) : null,
      td(partyNode(b.debtor)), td(amount(b.value), { class: "num" }))));
    rows.push(el("tr", { class: "total", testid: `exposure-total-${f.financier.address}` },
      f.byDebtor.length ? null : td(partyNode(f.financier)),
      td("total", { class: "muted" }), td(amount(f.total), { class: "num" })));
  }
  $("financier-rows").replaceChildren(...(rows.length ? rows : [el("tr", {}, td("no financier holds vouchers", { colspan: 3, class: "muted" }))]));

  const names = debtors.map((d) => nameOf(d.debtor));
  $("exposure-chart").style.height = `${Math.max(160, 60 + debtors.length * 44)}px`;
  chart("exposure-chart").resize();
  chart("exposure-chart").setOption({
    animation: false,
    aria: { enabled: true, label: { description: "Outstanding debt of each core enterprise against its credit line; the figures are in the table below." } },
    grid: { left: 8, right: 24, top: 30, bottom: 8, containLabel: true },
    legend: { top: 0, data: ["credit line", "outstanding"] },
    tooltip: { show: false },
    xAxis: { type: "value", axisLabel: { formatter: axisMoney } },
    yAxis: {
      type: "category", inverse: true, data: names,
      axisLabel: { formatter: (name) => (name.length > 28 ? `${name.slice(0, 27)}…` : name) },
    },
    series: [
      { name: "credit line", type: "bar", data: debtors.map((d) => chartAmount(d.creditLimit)), barGap: "-100%",
        itemStyle: { color: "#d5e2f0" }, barMaxWidth: 26 },
      { name: "outstanding", type: "bar", data: debtors.map((d) => chartAmount(d.outstanding)), barMaxWidth: 26,
        itemStyle: { color: "#1f6feb" },
        label: { show: true, position: "right", formatter: ({ dataIndex }) => percent(debtors[dataIndex].outstanding, debtors[dataIndex].creditLimit) } },
    ],
  }, true);
}

// ------------------------------------------------------------------- calendar

/** Every week from the first to the last with a slot due, the empty ones as zeros. */
function everyWeek(weeks) {
  if (!weeks.length) return [];
  const byStart = new Map(weeks.map((w) => [w.weekStart, w]));
  const all = [];
  for (let start = weeks[0].weekStart; start <= weeks.at(-1).weekStart; start += 7 * DAY) {
    all.push(byStart.get(start) ?? { weekStart: start, label: "", faceValue: "0", funded: "0", unfunded: "0", slots: 0 });
  }
  return all;
}

function renderCalendar({ weeks }) {
  $("calendar-rows").replaceChildren(...weeks.map((w) =>
    el("tr", { testid: `week-${w.label}` },
      td(w.label), td(formatDate(w.weekStart)), td(String(w.slots), { class: "num" }),
      td(amount(w.funded), { class: "num", testid: "funded" }), td(amount(w.unfunded), { class: "num", testid: "unfunded" }),
      td(amount(w.faceValue), { class: "num" }))));
  const bars = everyWeek(weeks);
  chart("calendar-chart").setOption({
    animation: false,
    aria: { enabled: true, label: { description: `Face value maturing in each of ${bars.length} weeks, funded and unfunded; the figures are in the table below.` } },
    grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
    legend: { top: 0, data: ["funded", "unfunded"] },
    tooltip: {
      trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" },
      formatter: (items) => {
        const w = bars[items[0].dataIndex];
        return `week of ${formatDate(w.weekStart)}, ${w.slots} slot${w.slots === 1 ? "" : "s"}\n` +
          `funded ${amount(w.funded)}\nunfunded ${amount(w.unfunded)}`;
      },
    },
    xAxis: { type: "category", data: bars.map((w) => formatDate(w.weekStart)), axisLabel: { rotate: 45 } },
    yAxis: { type: "value", axisLabel: { formatter: axisMoney } },
    series: [
      { name: "funded", type: "bar", stack: "face", data: bars.map((w) => chartAmount(w.funded)), itemStyle: { color: "#2e9e5b" } },
      { name: "unfunded", type: "bar", stack: "face", data: bars.map((w) => chartAmount(w.unfunded)), itemStyle: { color: "#e0a526" } },
    ],
  }, true);
}

// ------------------------------------------------------------------- lineage

async function showSlot(slot, { scroll = false, voucher = null } = {}) {
  state.slot = Number(slot);
  state.voucher = voucher;
  $("lineage-slot").value = String(slot);
  if (scroll) $("lineage").scrollIntoView({ block: "start" });
  await busy(async () => {
    await renderLineage();
    await renderDetail();
  });
}

/** The slot's tree, or the error that says why there is none (drawn by drawLineage). */
const fetchLineage = (slot) => api(`slots/${slot}`).then((detail) => ({ detail }), (error) => ({ error }));

async function renderLineage() {
  if (state.slot === null) return;
  const [lineage] = await Promise.all([fetchLineage(state.slot), chartsLoaded]);
  drawLineage(lineage);
}

function drawLineage({ detail, error }) {
  if (detail && detail.slot !== state.slot) return; // another slot was chosen meanwhile
  if (error) {
    $("lineage-summary").textContent = error.message;
    $("node-select").replaceChildren(el("option", { value: "", text: "choose a voucher…" }));
    chart("tree-chart").clear();
    state.voucher = null;
    return;
  }
  $("lineage-summary").replaceChildren(
    `Slot ${detail.slot}: `, partyNode(detail.debtor), ` owes ${amount(detail.faceValue)} to `, partyNode(detail.creditor),
    `, due ${formatDate(detail.maturity)}; funded ${amount(detail.funded)}; ${detail.status}; `,
    `${detail.tree.length} voucher${detail.tree.length === 1 ? "" : "s"} in its tree, ${detail.vouchers} live.`,
  );
  $("lineage-summary").className = "";
  $("lineage-slot").value = String(detail.slot);
  const keep = state.voucher;
  fillSelect($("node-select"), detail.tree.map((n) =>
    [n.label, `${"· ".repeat(n.depth)}${n.label} · ${nameOf(n.holder)} · ${amount(n.value)}${n.status === "live" ? "" : ` · ${n.status}`}${n.frozen ? " · frozen" : ""}`]),
  "choose a voucher…");
  if (keep && detail.tree.some((n) => n.label === keep)) $("node-select").value = keep;

  const tiers = 1 + Math.max(0, ...detail.tree.map((n) => n.depth));
  drawTree(chart("tree-chart"), $("tree-chart"), detail.tree, {
    nameOf, amount,
    description: `Lineage of slot ${detail.slot}: ${detail.tree.length} vouchers over ${tiers} tiers. The same vouchers are in the list above the tree.`,
  });
}

const fetchDetail = (label) => api(`vouchers/${encodeURIComponent(label)}`).then((v) => ({ v }), (error) => ({ error }));

async function renderDetail() {
  drawDetail(state.voucher ? await fetchDetail(state.voucher) : null);
}

function drawDetail(result) {
  const box = $("voucher-detail");
  if (!result || !state.voucher) {
    box.hidden = true;
    return;
  }
  const { v, error } = result;
  if (v && v.label !== state.voucher) return; // another voucher was chosen meanwhile
  if (error) {
    box.hidden = false;
    $("detail-title").textContent = `Voucher ${state.voucher}`;
    $("detail-facts").replaceChildren(el("dt", { text: "error" }), el("dd", { text: error.message }));
    $("detail-history").replaceChildren();
    $("detail-documents").replaceChildren();
    return;
  }
  box.hidden = false;
  $("detail-title").textContent = `Voucher ${v.label} (slot ${v.slot})`;
  const fact = (term, value, testid) => [el("dt", { text: term }), el("dd", { testid }, value)];
  $("detail-facts").replaceChildren(
    ...fact("holder", partyNode(v.holder), "detail-holder"),
    ...fact("value", amount(v.value), "detail-value"),
    ...fact("paid out", amount(v.paidOut)),
    ...fact("status", `${v.status}${v.frozen ? ", frozen" : ""}`, "detail-status"),
    ...fact("lineage", v.lineage.join(" ← "), "detail-lineage"),
  );
  $("detail-history").replaceChildren(...(v.history.length ? v.history : []).map((e) =>
    el("li", {}, el("span", { class: "muted", text: `${timeOf(e.timestamp)} · block ${e.block} · ` }), e.text)));
  if (!v.history.length) $("detail-history").append(el("li", { class: "muted", text: "no events" }));
  $("detail-documents").replaceChildren(...v.documents.map((r) =>
    el("li", { testid: `document-${r.recordId}` },
      `${r.docType} #${r.recordId} (${r.status}): `, partyNode(r.registrant), " → ", partyNode(r.counterparty),
      `, ${amount(r.amount)}`, r.parentId ? `, under #${r.parentId}` : "", " · ",
      el("span", { class: "hash", text: r.docHash }))));
  if (!v.documents.length) $("detail-documents").append(el("li", { class: "muted", text: "none recorded" }));
}

async function selectVoucher(label) {
  state.voucher = label;
  $("node-select").value = label;
  await busy(renderDetail);
}

// ------------------------------------------------------------------- alerts

function subjectLink(subject) {
  const { kind, key } = subject;
  const text = kind === "slot" ? `slot ${key}` : kind === "voucher" ? `voucher ${key}`
    : `${kind} ${state.names.get(key) || "unnamed account"} (${shortAddress(key)})`;
  const go = () => {
    if (kind === "slot") return showSlot(key, { scroll: true });
    if (kind === "voucher") return showSlot(String(key).split(".")[0], { scroll: true, voucher: String(key) });
    // A debtor's slots, or the slots a member holds vouchers of.
    $(kind === "debtor" ? "f-debtor" : "f-holder").value = key;
    $("slots").scrollIntoView({ block: "start" });
    return applyFilters();
  };
  return el("button", { type: "button", class: "link", text, onclick: go });
}

function renderAlerts(alerts) {
  $("alert-count").textContent = alerts.total
    ? `${alerts.total} alert${alerts.total === 1 ? "" : "s"}, newest first${alerts.total > alerts.items.length ? ` (the ${alerts.items.length} newest shown)` : ""}`
    : "No alert has been raised.";
  $("alert-list").replaceChildren(...alerts.items.map((a) =>
    el("li", { testid: `alert-${a.id}` },
      el("span", { class: `severity ${a.severity}`, text: a.severity }), " ",
      el("span", { class: "muted", text: `${timeOf(a.timestamp)} · block ${a.block} · ${a.rule.replaceAll("_", " ")}: ` }),
      a.message, " — ", subjectLink(a.subject))));
}

// ------------------------------------------------------------------- refresh

// While anything is being fetched or drawn, <body data-busy="1">: tests and screen readers can tell.
let running = 0;
async function busy(fn) {
  running += 1;
  document.body.dataset.busy = "1";
  try {
    await fn();
  } catch (error) {
    banner(error.message);
  } finally {
    running -= 1;
    if (running === 0) document.body.dataset.busy = "0";
  }
}

async function refreshSlots() {
  renderSlots(await loadSlots());
}

/** Everything again, fetched in parallel, then drawn at once. */
async function refreshAll() {
  const slotsP = loadSlots();
  // Until a slot is chosen, the lineage shows the first slot listed that still has live vouchers.
  const lineageP = slotsP.then((slots) => {
    if (state.slot === null && slots.items.length) state.slot = (slots.items.find((x) => x.vouchers > 0) ?? slots.items[0]).slot;
    return state.slot === null ? null : fetchLineage(state.slot);
  });
  const [status, members, slots, exposure, calendar, alerts, lineage, detail] = await Promise.all([
    api("status"), api("members", { limit: MAX_LIST }), slotsP, api("exposure"), api("calendar"),
    api("alerts", { limit: 100 }), lineageP, state.voucher ? fetchDetail(state.voucher) : null, chartsLoaded,
  ]);
  renderStatus(status);
  drawFilterChoices(members, status);
  renderSlots(slots);
  renderExposure(exposure);
  renderCalendar(calendar);
  renderAlerts(alerts);
  if (lineage) drawLineage(lineage);
  drawDetail(detail);
  banner("");
  state.block = status.block;
  document.body.dataset.block = String(status.block);
}

async function applyFilters() {
  state.filters = readFilters();
  state.offset = 0;
  await busy(refreshSlots);
}

let polling = false;
async function poll() {
  if (!polling) {
    polling = true;
    try {
      const status = await api("status");
      if (status.block !== state.block) await busy(refreshAll);
    } catch (error) {
      banner(`${error.message}; retrying`);
    } finally {
      polling = false;
    }
  }
  setTimeout(poll, POLL_MS);
}

$("slot-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  applyFilters();
});
$("f-clear").addEventListener("click", () => {
  $("slot-filters").reset();
  applyFilters();
});
$("prev").addEventListener("click", () => {
  state.offset = Math.max(0, state.offset - PAGE);
  busy(refreshSlots);
});
$("next").addEventListener("click", () => {
  state.offset += PAGE;
  busy(refreshSlots);
});
$("lineage-form").addEventListener("submit", (event) => {
  event.preventDefault();
  showSlot($("lineage-slot").value);
});
$("node-select").addEventListener("change", () => {
  if ($("node-select").value) selectVoucher($("node-select").value);
});

// First paint: a slot named in the address (#slot=7 or #voucher=7.3), else the first slot.
const hash = new URLSearchParams(location.hash.slice(1));
if (hash.get("voucher")) {
  state.voucher = hash.get("voucher");
  state.slot = Number(state.voucher.split(".")[0]);
} else if (hash.get("slot")) state.slot = Number(hash.get("slot"));

// Ready once the first fetch is drawn, charts included (the frame after their last setOption):
// the "supervision-ready" performance mark is the view's load time from navigation.
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
const firstRefresh = busy(async () => {
  await refreshAll();
  await nextFrame();
  performance.mark("supervision-ready");
  document.body.dataset.ready = "1";
});
loadCharts();
firstRefresh.finally(() => setTimeout(poll, POLL_MS));
