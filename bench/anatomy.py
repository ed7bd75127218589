"""Where a transaction's gas goes: storage words written fresh or updated, cold reads, calls to
other contracts, events, computation, from the node's step trace (``debug_traceTransaction``).

The classes follow the fork's gas schedule (Cancun): an SSTORE of a word that was zero at the
start of the transaction costs 20,000 (22,100 when cold), one of a word that was not costs
2,900 (5,000 cold), one of a word already written in the transaction 100; an SLOAD costs 2,100
cold and 100 warm; a call to an account not yet touched costs 2,600 more than one already
touched. Refunds (a word set back to zero or to its original value) come off at the end."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from scf.chain.connection import Connection

CALLS = frozenset({"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE", "CREATE", "CREATE2"})
FRESH_WORD = 20_000  # an SSTORE from zero costs at least this; updates cost 2,900 or 5,000
COLD_READ = 2_100
COLD_ACCOUNT = 2_600


@dataclass
class Anatomy:
    """A transaction's gas by what it paid for; the parts add up to ``gas_used``."""

    gas_used: int
    intrinsic: int  # 21,000 plus calldata
    words_written_fresh: int = 0
    fresh_gas: int = 0
    words_updated: int = 0
    update_gas: int = 0
    rewrites_gas: int = 0  # SSTOREs of words already written in this transaction
    cold_reads: int = 0
    read_gas: int = 0
    calls: int = 0
    cold_calls: int = 0
    call_gas: int = 0  # the calls' own cost (account access, value, memory), not the callee's work
    events: int = 0
    event_gas: int = 0
    hashing_gas: int = 0
    other_gas: int = 0  # arithmetic, memory, jumps, stack
    refund: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def anatomy(conn: Connection, tx_hash: Any) -> Anatomy:
    """The anatomy of a mined transaction (the node must answer ``debug_traceTransaction`` with
    step logs, as anvil does)."""
    tx = conn.w3.eth.get_transaction(tx_hash)
    receipt = conn.w3.eth.get_transaction_receipt(tx_hash)
    trace = conn.w3.provider.make_request(
        "debug_traceTransaction",  # type: ignore[arg-type]
        [tx_hash.hex() if hasattr(tx_hash, "hex") else tx_hash,
         {"disableStorage": True, "disableMemory": True, "disableStack": True}],
    )
    if "error" in trace:
        raise RuntimeError(f"debug_traceTransaction: {trace['error']}")
    steps = trace["result"]["structLogs"]
    a = Anatomy(gas_used=int(receipt["gasUsed"]), intrinsic=int(tx["gas"]) - int(steps[0]["gas"]))
    # frames[i] = [index of the call step that opened it, gas its steps have used]
    frames: list[list[int]] = [[-1, 0]]
    for i, step in enumerate(steps):
        op, cost, depth = step["op"], int(step["gasCost"]), int(step["depth"])
        nxt = steps[i + 1] if i + 1 < len(steps) else None
        if op in CALLS:
            a.calls += 1
            if nxt is not None and int(nxt["depth"]) > depth:
                frames.append([i, 0])  # settled when the callee returns
                continue
            used = int(step["gas"]) - int(nxt["gas"]) if nxt is not None else cost  # a precompile
            _call(a, used)
            frames[-1][1] += used
        else:
            _classify(a, op, cost)
            frames[-1][1] += cost
        while nxt is not None and int(nxt["depth"]) < len(frames) and len(frames) > 1:
            opened, inner = frames.pop()
            total = int(steps[opened]["gas"]) - int(nxt["gas"])
            _call(a, total - inner)
            frames[-1][1] += total
    executed = frames[0][1]
    a.refund = a.intrinsic + executed - a.gas_used
    return a


def _call(a: Anatomy, own: int) -> None:
    a.call_gas += own
    if own >= COLD_ACCOUNT:
        a.cold_calls += 1


def _classify(a: Anatomy, op: str, cost: int) -> None:
    if op == "SSTORE":
        if cost >= FRESH_WORD:
            a.words_written_fresh += 1
            a.fresh_gas += cost
        elif cost >= 2_900:
            a.words_updated += 1
            a.update_gas += cost
        else:
            a.rewrites_gas += cost
    elif op == "SLOAD":
        a.read_gas += cost
        a.cold_reads += cost >= COLD_READ
    elif op.startswith("LOG"):
        a.events += 1
        a.event_gas += cost
    elif op == "KECCAK256" or op == "SHA3":
        a.hashing_gas += cost
    else:
        a.other_gas += cost


def anatomies(conn: Connection, measured: dict[str, tuple[Any, int]]) -> dict[str, dict[str, Any]]:
    """The anatomy of each measured transaction (``Bench.measured``); a batch's is the whole
    transaction's, with how many operations it held."""
    return {name: anatomy(conn, tx.tx_hash).as_dict() | {"operations": n} for name, (tx, n) in measured.items()}


def render(anatomies_: dict[str, dict[str, Any]]) -> list[str]:
    """One line per operation: where its gas went (words written fresh and updated, cold
    reads, calls, events, the rest), per operation for a batch."""
    head = (f"{'operation':<36} {'gas':>8} {'base':>7} {'fresh':>11} {'updated':>10} {'cold reads':>11} "
            f"{'calls':>10} {'events':>10} {'compute':>8} {'refund':>7}")
    return [head, *(_row(name, a) for name, a in anatomies_.items())]


def _row(name: str, a: dict[str, Any]) -> str:
    n = a["operations"]

    def per(key: str) -> int:
        return round(a[key] / n)

    def cell(count: str, gas: str, width: int) -> str:
        counted = a[count] / n
        shown = f"{counted:.0f}" if n == 1 else f"{counted:.1f}"
        return f"{shown + ' ' + format(per(gas), ','):>{width}}"

    compute = round((a["hashing_gas"] + a["other_gas"] + a["rewrites_gas"]) / n)
    return (
        f"{name + (f' (1/{n})' if n > 1 else ''):<36} {per('gas_used'):>8,} {per('intrinsic'):>7,} "
        f"{cell('words_written_fresh', 'fresh_gas', 11)} {cell('words_updated', 'update_gas', 10)} "
        f"{cell('cold_reads', 'read_gas', 11)} {cell('calls', 'call_gas', 10)} {cell('events', 'event_gas', 10)} "
        f"{compute:>8,} {per('refund'):>7,}"
    )
