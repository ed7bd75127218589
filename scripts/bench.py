"""ape run bench [--quick] [--repeat N] [--only SECTION ...]

Gas per operation against the ERC-3525 reference, redemption at scale, tooling throughput
and seeding at consortium scale, on a local anvil. Writes bench/results.json and prints a
table. A benchmark, not a test: CI does not run it.

``--only`` runs some sections and keeps the others' figures from the existing results file;
each section records the chain it ran on. The 20,000-member seeding is best run on a plain
anvil (``make devnet``, then ``--network ethereum:devnet:node``): the anvil that ape starts
always traces steps and grows by gigabytes over a full run."""

import json
import platform
import re
import subprocess
from datetime import date
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand
from eth_account import Account

from bench import benchmarks as b
from scf.chain.devnet import revert, snapshot
from scf.cli import connect
from scf.errors import ScfError
from scf.paths import project_root
from scf.text import printable

RESULTS = project_root() / "bench" / "results.json"
SECTIONS = ("gas", "redemption", "throughput", "seeding")
APE_ANVIL = "anvil started by ape-foundry (--steps-tracing)"


@click.command(cls=ConnectedProviderCommand, short_help="Run the benchmarks")
@click.option("--quick", is_flag=True, help="Small sizes (a smoke run of the benchmark itself).")
@click.option("--repeat", default=3, show_default=True, help="Runs per timing; medians are reported.")
@click.option("--out", type=click.Path(path_type=Path), default=RESULTS, show_default=True)
@click.option("--only", "only", multiple=True, type=click.Choice(SECTIONS),
              help="Run only this section (repeatable); the others keep their figures from --out.")
def cli(provider, quick, repeat, out, only):
    from ape import accounts, project

    conn = connect(provider)

    def log(message: str) -> None:
        click.echo(message, err=True)

    anvil_version = subprocess.run(["anvil", "--version"], capture_output=True, text=True, check=False).stdout
    anvil = re.search(r"\d+\.\d+\.\d+", anvil_version)
    chosen = set(only or SECTIONS)
    results = json.loads(out.read_text()) if only and out.exists() else {}
    previous_date = results.get("date")
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
    results["errors"] = {k: v for k, v in results.get("errors", {}).items() if k.split("_")[0] not in chosen}
    # Where and when each section was measured (a file from before this record: ape's anvil).
    ran = results.setdefault("sections", {k: {"date": previous_date, "chain": APE_ANVIL} for k in SECTIONS})
    ran.update({k: {"date": results["date"], "chain": describe_chain(provider)} for k in chosen})

    def save() -> None:
        """Written after every section, so an interrupted run keeps what it measured."""
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")

    ape_account = accounts.test_accounts[2]
    bench = b.Bench.setup(conn, holder=Account.from_key(ape_account.private_key), log=log)
    base = snapshot(conn.w3)

    def fresh() -> None:
        nonlocal base
        revert(conn.w3, base)
        base = snapshot(conn.w3)

    if "gas" in chosen:
        log("bench: gas per operation, ours and the reference")
        results["gas"] = {"ours": b.our_gas(bench)}
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

    if "throughput" in chosen:
        throughput_section(conn, bench, ape_account, project, quick, repeat, results, fresh, log)
        save()

    if "seeding" in chosen:
        results["seeding"] = []
        for members in ((200,) if quick else (200, 2_000, 20_000)):
            times = 1 if members >= 20_000 else repeat
            one = []
            for i in range(times):
                log(f"bench: seeding {members} members, run {i + 1}/{times}")
                try:
                    one.append(b.seeding(bench, members, log=log))
                except ScfError as exc:
                    results["errors"][f"seeding_{members}"] = str(exc)
                fresh()
            if one:
                results["seeding"].append(b.median_of(one, ("seconds",)))
            save()

    click.echo(render(results))
    click.echo(f"\nwritten to {out}")


def describe_chain(provider) -> str:
    """Which anvil a section ran on: ape's own (steps tracing on) or an external node."""
    if getattr(provider, "name", "") == "foundry":
        return APE_ANVIL
    return f"external node at {getattr(provider, 'uri', '?')} ({provider.name})"


def throughput_section(conn, bench, ape_account, project, quick, repeat, results, fresh, log) -> None:
    n = 100 if quick else 1_000
    voucher_ape = project.ReceivableVoucher.at(bench.suite.voucher.address)

    def ape_runner(root: int, count: int, to: list[str]) -> None:
        from ape.logging import LogLevel, logger

        level = logger.level
        logger.set_level(LogLevel.WARNING)  # ape logs every confirmation at INFO
        try:
            for i in range(count):
                voucher_ape.transferFrom(root, to[i], 1, sender=ape_account)
        finally:
            logger.set_level(level)
        assert bench.suite.voucher.value_of(root) == count * 3 * 100 - count, "ape chose the wrong overload"

    runs = []
    for i in range(repeat):
        log(f"bench: throughput of {n} split-transfers, run {i + 1}/{repeat}")
        runs.append(b.throughput(bench, n, ape_runner))
        fresh()
    results["throughput_ops_per_s"] = {k: round(sorted(r[k] for r in runs)[len(runs) // 2], 1) for k in runs[0]}
    results["throughput_runs"] = runs
    results["throughput_operations"] = n


def render(r: dict) -> str:
    """The results as a table; a section not measured in this file (``--only`` into a new
    ``--out``) is left out."""
    lines = [f"{r['date']} on {r['machine']}, solc {r['versions']['solc']}, anvil {r['versions']['anvil']}"]
    if "gas" in r:
        lines += ["", *_render_gas(r["gas"]["ours"], r["gas"]["reference"])]
    if "redemption_scale" in r:
        lines += ["", f"{'fragments':>10} {'gas/voucher':>12} {'max batch/30M':>14} {'seconds':>9}"]
        for s in r["redemption_scale"]:
            lines.append(
                f"{s['fragments']:>10,} {s['gas_per_voucher']:>12,} "
                f"{s['max_batch_in_30m_gas_block']:>14,} {s['seconds']:>9.2f}"
            )
    if r.get("errors"):
        lines += ["", "errors: " + "; ".join(f"{k}: {printable(v)}" for k, v in r["errors"].items())]
    if "throughput_ops_per_s" in r:
        t = r["throughput_ops_per_s"]
        lines += ["", f"throughput ({r['throughput_operations']} split-transfers, ops/s, median): "
                  + ", ".join(f"{k} {v}" for k, v in t.items())
                  + f"  (scf/web3 = {t['scf'] / t['web3']:.2f})"]
    if "seeding" in r:
        seeding_chain = r["sections"]["seeding"]["chain"]
        lines += ["", f"{'members':>8} {'seconds':>9} {'gas':>15} {'gas/member':>11}   ({seeding_chain})"]
        for s in r["seeding"]:
            lines.append(f"{s['members']:>8,} {s['seconds']:>9.2f} {s['gas']:>15,} {s['gas_per_member']:>11,}")
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
