"""JSON-RPC batches: many requests in one HTTP round trip, for the bulk paths (sending a
burst of signed transactions, awaiting their receipts, reading many accounts).

web3.py's ``batch_requests`` formats answers but refuses ``eth_sendRawTransaction``; the
provider's ``make_batch_request`` sends anything and returns the node's raw answers. Sends go
raw; receipts are awaited by following new blocks (raw), and those of the transactions found
in them are fetched through ``batch_requests``, so callers get the same receipts as from
``wait`` (logs decodable by web3's event processing). A batch that carries a send is never
retried (the node may have taken part of it); batches of reads are retried like any read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hexbytes import HexBytes
from web3.types import RPCEndpoint, TxReceipt

from scf.chain.reads import TRANSPORT_ERRORS, ChainReader, RpcError

# Requests per HTTP round trip: large enough that the round trip is a small share of the
# node's work (anvil takes about 0.3 ms a raw transaction), small enough that one answer
# stays a few hundred kilobytes.
BATCH_SIZE = 250
# Signed transactions' bytes per round trip, at most: anvil refuses a request of about 10 MB
# ("Invalid request": 50 admissions of 400 firms), and other nodes cap request bodies too.
# Sent as hex, a megabyte of transactions is a 2 MB request.
BATCH_BYTES = 1_000_000
# How often the chain's head is looked at while receipts are awaited: a tenth of the
# shortest block time a consortium chain runs (1 s), so a receipt is seen soon after its block.
RECEIPT_POLL_SECONDS = 0.1


def chunks(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def raw_batch(reader: ChainReader, requests: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """The node's answers to ``requests`` (method, params), in order, sent as one JSON-RPC
    batch. Not retried: the caller decides whether a failed round trip may be repeated."""
    if not requests:
        return []
    provider = reader.w3.provider
    batched = getattr(provider, "make_batch_request", None)
    try:
        if batched is None:
            raise NotImplementedError
        answers = batched([(RPCEndpoint(m), p) for m, p in requests])
    except NotImplementedError:  # a provider without batches (an in-process test chain): one by one
        answers = [{**provider.make_request(RPCEndpoint(m), p), "id": n} for n, (m, p) in enumerate(requests)]
    if not isinstance(answers, list):  # the node refused the batch itself (one error object)
        error = answers.get("error") if isinstance(answers, dict) else answers
        raise RpcError(f"the node at {reader.endpoint} refused a batch of {len(requests)} requests: {error}")
    # JSON-RPC lets a server answer a batch in any order; ids say which is which.
    by_id = {answer.get("id"): answer for answer in answers}
    if len(by_id) == len(answers) and all(isinstance(k, int) for k in by_id):
        answers = [by_id[k] for k in sorted(by_id)]
    if len(answers) != len(requests):
        raise RpcError(f"the node at {reader.endpoint} answered {len(answers)} of {len(requests)} batched requests")
    return answers


def send_raw(reader: ChainReader, raws: Sequence[bytes]) -> list[str | None]:
    """Broadcasts signed transactions in one batch; per transaction the node's error message,
    or None where it was accepted. Never retried: a transport failure is an ``RpcError``
    saying that any of them may have reached the node."""
    try:
        answers = raw_batch(reader, [("eth_sendRawTransaction", [HexBytes(raw).to_0x_hex()]) for raw in raws])
    except TRANSPORT_ERRORS as exc:
        raise RpcError(
            f"a batch of {len(raws)} transactions was sent to {reader.endpoint}, which did not confirm receiving "
            f"it ({exc}). Any of them may still be mined, so none was sent again"
        ) from exc
    return [_error_text(a) if "error" in a else None for a in answers]


def read_batch(reader: ChainReader, requests: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """A batch of reads, retried on transport failures like any read."""
    return list(reader.read(lambda: raw_batch(reader, requests)))


def call_many(reader: ChainReader, calls: Sequence[tuple[str, str]], block: str = "latest") -> list[bytes]:
    """The return data of many ``eth_call`` (to, calldata) on ``block``. A call that reverts
    is decoded into the suite's ``ContractRevert`` and raised."""
    out: list[bytes] = []
    for outcome in try_calls(reader, [{"to": to, "data": data} for to, data in calls], block):
        if not isinstance(outcome, bytes):
            raise outcome
        out.append(outcome)
    return out


def try_calls(reader: ChainReader, calls: Sequence[dict[str, str]], block: str = "latest") -> list[Any]:
    """Many ``eth_call`` (each a call object: ``to``, ``data``, and ``from`` to simulate a
    sender) on ``block``, in batches: per call its return data (bytes), or the suite's
    ``ContractRevert`` it reverted with. A node error other than a revert is raised."""
    out: list[Any] = []
    for part in chunks(calls):
        for answer in read_batch(reader, [("eth_call", [call, block]) for call in part]):
            if "error" in answer:
                data = answer["error"].get("data")
                if isinstance(data, str) and data.startswith("0x"):
                    out.append(reader.errors.decode(data))
                    continue
                raise RpcError(f"eth_call failed at {reader.endpoint}: {_error_text(answer)}")
            out.append(bytes(HexBytes(answer["result"])))
    return out


def await_receipts(
    reader: ChainReader,
    hashes: Sequence[HexBytes],
    from_block: int,
    on_mined: Callable[[int], None] | None = None,
) -> list[TxReceipt]:
    """The receipts of ``hashes`` (sent after block ``from_block`` was the head), in order,
    once all are mined. Follows the chain block by block (one request a block, whatever the
    number of transactions awaited) and fetches the receipts of those found, in batches;
    ``on_mined(count)`` reports progress. Raises ``RpcError`` when ``receipt_timeout``
    passes without one of them mined."""
    index = {h.to_0x_hex(): i for i, h in enumerate(hashes)}
    receipts: dict[int, TxReceipt] = {}
    next_block = from_block
    deadline = time.monotonic() + reader.receipt_timeout
    while len(receipts) < len(hashes):
        head = int(read_batch(reader, [("eth_blockNumber", [])])[0]["result"], 16)
        mined: list[int] = []
        for part in chunks(range(next_block, head + 1)):
            blocks = read_batch(reader, [("eth_getBlockByNumber", [hex(n), False]) for n in part])
            for block in blocks:
                mined += [index[h] for h in (block.get("result") or {}).get("transactions", []) if h in index]
        next_block = head + 1
        for part in chunks(mined):
            with reader.w3.batch_requests() as requests:
                for i in part:
                    requests.add(reader.w3.eth.get_transaction_receipt(hashes[i]))
                formatted = reader.read(requests.execute)
            receipts.update(zip(part, formatted, strict=True))
        if mined:
            deadline = time.monotonic() + reader.receipt_timeout
            if on_mined is not None:
                on_mined(len(receipts))
        elif time.monotonic() > deadline:
            waiting = [h for h, i in index.items() if i not in receipts]
            raise RpcError(
                f"{len(waiting)} transactions (the first {waiting[0]}) were not mined within "
                f"{reader.receipt_timeout:.0f} s; they may still be mined: check them before sending again"
            )
        if len(receipts) < len(hashes):
            time.sleep(RECEIPT_POLL_SECONDS)
    return [receipts[i] for i in range(len(hashes))]


def _error_text(answer: dict[str, Any]) -> str:
    error = answer.get("error")
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)
