"""ape run bench [--quick] [--repeat N] [--only SECTION ...] [--block-time S] [--gas-limit G]

Gas per operation against the ERC-3525 reference and redemption at scale on the anvil ape
starts (automine: one transaction a block); then tooling throughput, seeding at consortium
scale and a load of many members at once on an anvil of the bench's own that mines a block
every ``--block-time`` seconds of at most ``--gas-limit`` gas, as a consortium's chain does.
Writes bench/results.json (each section with the chain it ran on) and prints a table.
A benchmark, not a test: CI does not run it.

``--only`` runs some sections and keeps the others' figures from the existing results file.
The figures from before issue 15 (batch admission, the JSON-RPC batch send path) are kept
under ``before_batching``."""

import json
import platform
import re
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand
from eth_account import Account
from web3 import HTTPProvider, Web3

from bench import anatomy as gas_anatomy
from bench import benchmarks as b
from bench.load import load_test
from scf.chain.connection import Connection
from scf.chain.devnet import local_anvil, revert, snapshot
from scf.cli import connect
from scf.errors import ScfError
from scf.paths import project_root
from scf.text import printable

RESULTS = project_root() / "bench" / "results.json"
SECTIONS = ("gas", "redemption", "vault", "throughput", "seeding", "load")
ON_BLOCK_TIME = ("throughput", "seeding", "load")  # on the bench's own anvil, blocks every --block-time
APE_ANVIL = "anvil started by ape-foundry (--steps-tracing), automine"
BEFORE = ("throughput_ops_per_s", "throughput_runs", "throughput_operations", "seeding")


@click.command(cls=ConnectedProviderCommand, short_help="Run the benchmarks")
@click.option("--quick", is_flag=True, help="Small sizes (a smoke run of the benchmark itself).")
@click.option("--repeat", default=3, show_default=True, help="Runs per timing; medians are reported.")
@click.option("--out", type=click.Path(path_type=Path), default=RESULTS, show_default=True)
@click.option("--only", "only", multiple=True, type=click.Choice(SECTIONS),
              help="Run only this section (repeatable); the others keep their figures from --out.")
@click.option("--block-time", default=1, show_default=True, type=click.IntRange(1),
              help="Seconds between blocks of the bench's own anvil (throughput, seeding, load).")
@click.option("--gas-limit", default=30_000_000, show_default=True, type=click.IntRange(1_000_000),
              help="Block gas limit of the bench's own anvil.")
def cli(provider, quick, repeat, out, only, block_time, gas_limit):
    from ape import accounts

    conn = connect(provider)

    def log(message: str) -> None:
        click.echo(message, err=True)

    anvil_version = subprocess.run(["anvil", "--version"], capture_output=True, text=True, check=False).stdout
    anvil = re.search(r"\d+\.\d+\.\d+", anvil_version)
    chosen = set(only or SECTIONS)
    previous = json.loads(out.read_text()) if out.exists() else {}
    results = previous if only else {}
    before = previous.get("before_batching")
    if before is None and "throughput_ops_per_s" in previous:  # a file from before issue 15: kept to compare
        before = {k: previous[k] for k in BEFORE if k in previous} | {"gas": previous["gas"]["ours"]}
    if before is not None:
        results["before_batching"] = before
    previous_date = previous.get("date")
    results.update({
        "date": date.today().isoformat(),
        "machine": b.machine_description(),
        "versions": {
            "solc": conn.artifacts.compiler.split("+")[0],
            "anvil": anvil.group(0) if anvil else "unknown",
            "python": platform.python_version(),
        },
        "quick": quick,
    })
    for old_key in BEFORE[:3]:
        results.pop(old_key, None)
    results["errors"] = {k: v for k, v in results.get("errors", {}).items() if k.split("_")[0] not in chosen}
    ran = results.setdefault("sections", {})
    ran.update({k: v for k, v in {k: {"date": previous_date, "chain": APE_ANVIL} for k in SECTIONS}.items()
                if k not in ran})
    automine = {"chain": describe_chain(provider), "block_time_s": None,
                "gas_limit": int(conn.w3.eth.get_block("latest")["gasLimit"])}
    own = {"chain": f"anvil {results['versions']['anvil']} started by the bench", "block_time_s": block_time,
           "gas_limit": gas_limit}
    for k in chosen:
        ran[k] = {"date": results["date"], **(own if k in ON_BLOCK_TIME else automine)}

    def save() -> None:
        """Written after every section, so an interrupted run keeps what it measured."""
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")

    if chosen & {"gas", "redemption", "vault"}:
        ape_account = accounts.test_accounts[2]
        bench = b.Bench.setup(conn, holder=Account.from_key(ape_account.private_key), log=log)
        automine_sections(conn, bench, chosen, quick, results, save, log)
    if chosen & set(ON_BLOCK_TIME):
        log(f"bench: starting anvil with a block every {block_time} s of at most {gas_limit:,} gas")
        with local_anvil("--block-time", str(block_time), "--gas-limit", str(gas_limit)) as url:
            paced = Connection(Web3(HTTPProvider(url, request_kwargs={"timeout": 120})), conn.artifacts)
            bench = b.Bench.setup(paced, log=log)
            paced_sections(paced, bench, chosen, quick, repeat, results, save, log)

    click.echo(render(results))
    click.echo(f"\nwritten to {out}")


def automine_sections(conn, bench, chosen, quick, results, save, log) -> None:
    base = snapshot(conn.w3)

    def fresh() -> None:
        nonlocal base
        revert(conn.w3, base)
        base = snapshot(conn.w3)

    if "gas" in chosen:
        log("bench: gas per operation, ours and the reference")
        results["gas"] = {"ours": b.our_gas(bench)}
        log("bench: where each operation's gas goes (step traces)")
        results["gas_anatomy"] = gas_anatomy.anatomies(conn, bench.measured)
        fresh()
        results["gas"]["reference"] = b.reference_gas(conn, bench.holder, bench.bank, bench.keeper)
        fresh()
        save()

    if "redemption" in chosen:
        results["redemption_scale"] = []
        for fragments in ((10, 100) if quick else (10, 100, 1_000, 10_000)):
            log(f"bench: redemption of {fragments} fragments")
            try:
                scale = b.redemption_scale(bench, fragments, holders=min(fragments, 100), log=log)
                results["redemption_scale"].append(scale)
            except ScfError as exc:  # a benchmark records what the chain refused or the node lost, and goes on
                results["errors"][f"redemption_{fragments}"] = str(exc)
            fresh()
            save()

    if "vault" in chosen:
        log("bench: the document vault (sealing, opening, disclosing, verifying)")
        folder = Path(tempfile.mkdtemp(prefix="bench-vault-"))
        try:
            sizes = (1_000, 100_000) if quick else (1_000, 1_000_000, 10_000_000)
            results["vault"] = b.vault_timings(bench, sizes, 1 if quick else 3, folder, log=log)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        fresh()
        save()


def paced_sections(conn, bench, chosen, quick, repeat, results, save, log) -> None:
    """On the bench's own anvil: no snapshots (the chain keeps growing, as a real one does)."""
    if "throughput" in chosen:
        n = 600 if quick else 6_000
        runs = []
        for i in range(repeat):
            log(f"bench: throughput of {n:,} split-transfers, run {i + 1}/{repeat}")
            runs.append(b.throughput(bench, n, run=i, log=log))
        results["throughput"] = {
            "operations": n,
            **{way: b.median_of([r[way] for r in runs], tuple(runs[0][way])) for way in runs[0]},
        }
        save()

    if "seeding" in chosen:
        results["seeding"] = []
        for members in ((200, 2_000) if quick else (200, 2_000, 20_000)):
            times = 1 if members >= 20_000 else repeat
            one = []
            for i in range(times):
                log(f"bench: seeding {members:,} members, run {i + 1}/{times}")
                try:
                    one.append(b.seeding(bench, members, run=i, log=log))
                except ScfError as exc:
                    results["errors"][f"seeding_{members}"] = str(exc)
            if one:
                results["seeding"].append(
                    b.median_of(one, ("seconds", "validate_seconds", "validate_yaml_seconds", "ms_per_member")))
            save()

    if "load" in chosen:
        members = 20 if quick else 200
        log(f"bench: {members} members at once, each with its own key, thread and connection")
        try:
            results["load"] = load_test(conn, bench, members=members, rounds=1 if quick else 2, log=log)
        except ScfError as exc:
            results["errors"]["load"] = str(exc)
        save()


def describe_chain(provider) -> str:
    """Which anvil a section ran on: ape's own (steps tracing on) or an external node."""
    if getattr(provider, "name", "") == "foundry":
        return APE_ANVIL
    return f"external node at {getattr(provider, 'uri', '?')} ({provider.name})"


def render(r: dict) -> str:
    """The results as a table; a section not measured in this file (``--only`` into a new
    ``--out``) is left out."""
    lines = [f"{r['date']} on {r['machine']}, solc {r['versions']['solc']}, anvil {r['versions']['anvil']}"]
    sections = r.get("sections", {})

    def chain(section: str) -> str:
        ran = sections.get(section, {})
        pace = f"a block every {ran['block_time_s']} s" if ran.get("block_time_s") else "automine"
        limit = f", gas limit {ran['gas_limit']:,}" if ran.get("gas_limit") else ""
        return f"({pace}{limit}; {ran.get('date', '?')})"

    if "gas" in r:
        lines += ["", f"gas per operation {chain('gas')}", *_render_gas(r["gas"]["ours"], r["gas"]["reference"])]
    if "gas_anatomy" in r:
        lines += ["", "where the gas goes (count and gas; base = 21,000 + calldata; compute = the rest)",
                  *gas_anatomy.render(r["gas_anatomy"])]
    if "redemption_scale" in r:
        lines += ["", f"{'fragments':>10} {'gas/voucher':>12} {'max batch/30M':>14} {'seconds':>9}   "
                  + chain("redemption")]
        for s in r["redemption_scale"]:
            lines.append(
                f"{s['fragments']:>10,} {s['gas_per_voucher']:>12,} "
                f"{s['max_batch_in_30m_gas_block']:>14,} {s['seconds']:>9.2f}"
            )
    if "vault" in r:
        v = r["vault"]
        lines += ["", f"document vault, medians in ms: put, confirm, get per document ({v['readers_per_document']} "
                  f"readers each); disclose, verify per trail of {v['trail_documents']} {chain('vault')}",
                  f"{'bytes':>11} {'sealed/file':>12} {'put':>8} {'confirm':>8} {'get':>8} {'disclose':>9} "
                  f"{'verify':>8}"]
        for d in v["documents"]:
            lines.append(f"{d['bytes']:>11,} {d['sealed_over_file']:>12.4f} {d['put_ms']:>8.1f} "
                         f"{d['confirm_ms']:>8.1f} {d['get_ms']:>8.1f} {d['disclose_trail_ms']:>9.1f} "
                         f"{d['verify_trail_ms']:>8.1f}")
    if "throughput" in r:
        t = r["throughput"]
        lines += ["", f"throughput, {t['operations']:,} split-transfers, medians {chain('throughput')}",
                  f"{'way':<6} {'ops/s':>8} {'sent/s':>8} {'gas capacity used':>18} {'blocks':>7}"]
        for way in ("raw", "scf", "web3"):
            w = t[way]
            lines.append(f"{way:<6} {w['ops_per_s']:>8,.1f} {w['sent_per_s']:>8,.1f} "
                         f"{w['gas_capacity_used']:>17.1%} {w['blocks']:>7}")
        lines.append(f"scf / raw = {t['scf']['ops_per_s'] / t['raw']['ops_per_s']:.2f}")
    if "seeding" in r and r["seeding"] and "validate_seconds" in r["seeding"][0]:
        lines += ["", f"seeding {chain('seeding')}",
                  f"{'members':>8} {'check json':>11} {'check yaml':>11} {'seed s':>8} {'ms/member':>10} {'txs':>5} "
                  f"{'gas/member':>11}"]
        for s in r["seeding"]:
            lines.append(f"{s['members']:>8,} {s['validate_seconds']:>11.2f} "
                         f"{s.get('validate_yaml_seconds', 0):>11.2f} {s['seconds']:>8.2f} "
                         f"{s['ms_per_member']:>10.3f} {s['transactions']:>5} {s['gas_per_member']:>11,}")
    if "load" in r:
        load = r["load"]
        lines += ["", f"load: {load['members']} members at once, {load['operations_total']:,} operations in "
                  f"{load['seconds']:.1f} s, {load['ops_per_s']:.1f} ops/s {chain('load')}",
                  f"{'operation':<16} {'p50 ms':>8} {'p95 ms':>8}"]
        lines += [f"{kind:<16} {ms['p50']:>8,.0f} {ms['p95']:>8,.0f}" for kind, ms in load["latency_ms"].items()]
        lines.append(f"checks passed: {sum(load['checks'].values()):,} ({len(load['checks'])} kinds)")
    if r.get("errors"):
        lines += ["", "errors: " + "; ".join(f"{k}: {printable(v)}" for k, v in r["errors"].items())]
    return "\n".join(lines)


def _render_gas(ours: dict, ref: dict) -> list[str]:
    lines = [f"{'operation':<30} {'ours':>10} {'reference':>10} {'ratio':>7}"]
    pairs = [
        ("issue + accept", ours["issue"] + ours["accept"], ref["mint"]),
        ("split_transfer", ours["split_transfer"], ref["split_transfer"]),
        ("merge", ours["merge"], ref["merge"]),
        ("transfer_whole", ours["transfer_whole"], ref["transfer_whole"]),
        ("redeem_single (burn)", ours["redeem_single"], ref["burn"]),
    ]
    for name, mine, theirs in pairs:
        lines.append(f"{name:<30} {mine:>10,} {theirs:>10,} {mine / theirs:>7.2f}")
    shown = {"issue", "accept", "split_transfer", "merge", "transfer_whole", "redeem_single"}
    for name, used in ours.items():
        if name not in shown:  # ours alone: discounting, funding, and a debtor's failure
            lines.append(f"{name:<30} {used:>10,}")
    return lines
