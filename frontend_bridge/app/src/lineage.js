// A slot's lineage as a left-to-right tree (ECharts' tree series, SVG renderer): holder and
// value on every node, redeemed, written-off and frozen fragments marked. Shared by the
// supervision view and the member page, so both draw a voucher's lineage the same way.
//
// Every label is plain text (a holder's name is whatever the firm chose): the SVG renderer
// writes it with createTextNode, and tooltips stay off.

const MARKS = { redeemed: "✓ redeemed", "written off": "written off" };

/** The tree series' nested data from the read API's depth-first node list (`/api/slots/N`
 *  `tree`: label, parent, holder, value, status, frozen); `mine` labels are drawn bold. */
export function treeData(nodes, { nameOf, amount, mine = new Set() }) {
  const byLabel = new Map();
  let root = null;
  for (const n of nodes) {
    const marks = [MARKS[n.status], n.frozen ? "❄ frozen" : null, mine.has(n.label) ? "● yours" : null]
      .filter(Boolean).join(" ");
    const colour = n.frozen ? "#0b6bd6" : n.status === "live" ? "#2e9e5b" : n.status === "redeemed" ? "#9aa5b1" : "#c0392b";
    const item = {
      name: n.label,
      node: n,
      children: [],
      itemStyle: { color: colour, borderColor: colour },
      label: {
        formatter: () => `${n.label}${marks ? `  ${marks}` : ""}\n${nameOf(n.holder)}\n${amount(n.value)}`,
        color: n.status === "redeemed" ? "#6b7785" : "#1d2733",
        fontWeight: mine.has(n.label) ? "bold" : "normal",
      },
    };
    byLabel.set(n.label, item);
    if (n.parent && byLabel.has(n.parent)) byLabel.get(n.parent).children.push(item);
    else if (!root) root = item;
  }
  return root;
}

function depthOf(item) {
  return 1 + Math.max(0, ...item.children.map(depthOf));
}

/** Rows the layout needs at most: ECharts' tree keeps siblings one unit apart and cousins two. */
function rowsOf(root) {
  const leaves = [];
  const walk = (item, parent) => (item.children.length ? item.children.forEach((c) => walk(c, item)) : leaves.push(parent));
  walk(root, null);
  return leaves.reduce((rows, parent, i) => rows + (i === 0 ? 1 : parent === leaves[i - 1] ? 1 : 2), 0);
}

/** Draws `nodes` in `chart` (an ECharts instance on `container`), sizing the container so
 *  every row and tier has room (it scrolls sideways on a phone). False when there is nothing. */
export function drawTree(chart, container, nodes, { nameOf, amount, description, mine }) {
  const root = treeData(nodes, { nameOf, amount, mine });
  if (!root) {
    chart.clear();
    return false;
  }
  const depth = depthOf(root);
  container.style.height = `${Math.max(200, rowsOf(root) * 46 + 60)}px`;
  container.style.minWidth = `${depth * 190 + 40}px`;
  chart.resize();
  // A new tree, not an update of the last one: ECharts 6's tree diff fails on removed nodes
  // ("Cannot read properties of null (reading '__edge')").
  chart.clear();
  chart.setOption({
    animation: false,
    aria: { enabled: true, label: { description } },
    tooltip: { show: false },
    series: [{
      type: "tree",
      data: [root],
      orient: "LR",
      left: 24,
      right: Math.min(220, container.clientWidth / (depth + 1)),
      top: 30,
      bottom: 30,
      symbol: "circle",
      symbolSize: 12,
      roam: false,
      expandAndCollapse: false,
      initialTreeDepth: -1,
      // Long names are cut with an ellipsis to keep each tier's column (lists beside the
      // tree have them whole).
      label: { position: "right", align: "left", verticalAlign: "middle", fontSize: 11, lineHeight: 14,
        backgroundColor: "rgba(255,255,255,0.85)", padding: [1, 3], width: 165, overflow: "truncate", ellipsis: "…" },
      lineStyle: { color: "#b6c2cf", width: 1.2, curveness: 0.5 },
      emphasis: { focus: "none" },
    }],
  }, true);
  return true;
}

