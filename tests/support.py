"""Helpers shared by the test modules: the story's constants, keys, event and view readers,
refusals mined and compared, permits.

Fixtures live in conftest.py; these are plain functions, classes and constants, declared
once here and imported by every test module (conftest included)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak
from hexbytes import HexBytes

from scf.chain.devnet import DevnetClock, faucet, set_balance
from scf.chain.reverts import ContractRevert
from scf.deploy import SETTLEMENT_NAME
from scf.money import DAY, DECIMALS
from scf.scenario import run_scenario

# ------------------------------------------------------------------ the story's constants

ETHER = 10**18
CNY = 10**DECIMALS  # minor units (fen) per yuan
GRACE = 3 * DAY  # the ledger's grace period after maturity, as deployed
YEAR_BASIS = 360 * DAY * 10_000  # DiscountDesk: ACT/360, times basis points
NO_HASH = b"\0" * 32  # no reason, no document
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
KYC = keccak(text="kyc evidence")  # what conftest admits the cast with

# The cast as conftest admits and pays it.
HOSPITAL_CREDIT_LIMIT = 5_000_000 * CNY
# The largest amount of a voucher or a trade record: 56 bits, computed here, not read from a contract.
MAX_AMOUNT = 2**56 - 1
BANK_OPENING_CASH = 2_000_000 * CNY
HOSPITAL_OPENING_CASH = 3_000_000 * CNY
FACE = 1_000_000 * CNY  # the hospital's voucher to tier 1 (conftest's accepted_voucher)

ROOT = Path(__file__).resolve().parents[1]  # read from only: tests write to temporary folders
BRIDGE = ROOT / "frontend_bridge"
STORY = ROOT / "scenarios" / "hospital.yaml"


def member_key(name: str) -> LocalAccount:
    """A deterministic key per member name, derived as conftest derives the cast's."""
    return Account.from_key(keccak(text=f"scf test member {name}"))


def funded(w3, name: str) -> LocalAccount:
    key = member_key(name)
    set_balance(w3, key.address, 10 * ETHER)
    return key


def event_args(result, client, name: str) -> list[dict]:
    return [dict(e["args"]) for e in result.events(client.contract, name)]


class ViewFingerprint:
    """The raw answers of a fixed list of views, by name (``"balanceOf(0x…)"``), to prove a
    refused call changed nothing: a state for ``Refusals``. Plain ``eth_call`` with
    pre-encoded data: a few dozen reads per check stay cheap."""

    def __init__(self, client, calls) -> None:
        self.w3 = client.conn.w3
        self.requests = {
            f"{f}{tuple(a)}": {"to": client.address, "data": client.contract.encode_abi(f, list(a))}
            for f, *a in calls
        }

    def __call__(self) -> dict[str, str]:
        return {name: self.w3.provider.make_request("eth_call", [r, "latest"])["result"]
                for name, r in self.requests.items()}


def read_many(w3, calls: dict[str, tuple[str, str, tuple[Any, ...]]]) -> dict[str, bytes]:
    """Raw ``eth_call``s in one JSON-RPC batch: ``{key: (address, signature, args)}`` ->
    ``{key: return data}``. Encoded by hand: building web3 contract calls one by one costs
    more CPU than the node spends answering them."""
    if not calls:
        return {}
    requests = []
    for address, signature, args in calls.values():
        types = signature[signature.index("(") + 1 : -1]
        data = function_signature_to_4byte_selector(signature) + abi_encode(types.split(",") if types else [], args)
        requests.append(("eth_call", [{"to": address, "data": "0x" + data.hex()}, "latest"]))
    responses = w3.provider.make_batch_request(requests)
    assert isinstance(responses, list), responses
    out = {}
    for key, response in zip(calls, responses, strict=True):
        assert "error" not in response, (key, response["error"])
        out[key] = bytes(HexBytes(response["result"]))
    return out


def word(data: bytes, index: int = 0) -> int:
    return int.from_bytes(data[32 * index : 32 * index + 32], "big")


def sign_permit(
    key: LocalAccount, token, spender: str, value: int, nonce: int, deadline: int, chain_id: int, owner: str = ""
):
    """EIP-2612: ``key`` signs an allowance of ``owner`` (by default its own) off chain;
    returns (v, r, s) for ``permit``."""
    owner = owner or key.address
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": SETTLEMENT_NAME, "version": "1", "chainId": chain_id, "verifyingContract": token.address},
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), key.key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


# ------------------------------------------------------------------------------ refusals

# Every call a test expects the chain to refuse goes out with this fixed gas limit (the
# property tests and the access matrix send every call with it): nothing is estimated, so the
# refusal is mined as a failed transaction, decoded from the node's trace of it, and a
# "nothing changed" comparison after it checks a transaction the chain really executed.
# Refused at its gas estimate instead, nothing would ever be sent and the comparison could
# not fail.
REFUSAL_GAS = 3_000_000

State = Callable[[], Mapping[str, Any]]


def mined_refusal(client, signer, function: str, *args: Any) -> ContractRevert:
    """Sends ``function(*args)`` of ``client``'s contract, signed by ``signer``, with
    ``REFUSAL_GAS``; asserts it was mined as the signer's next transaction and failed, and that
    the client reported exactly the error, arguments included, that the mined transaction's
    own trace holds (an argument read from ``block.timestamp`` shows whether the client read the
    mined transaction or a replay of it on the block before). Returns that revert."""
    w3 = client.conn.w3
    nonce = w3.eth.get_transaction_count(signer.address)
    try:
        accepted = client.send(signer, function, *args, gas=REFUSAL_GAS)
    except ContractRevert as exc:
        refusal = exc
    else:
        pytest.fail(f"{function}{args} by {signer.address} was accepted (block {accepted.block_number}), not refused")
    block = w3.eth.get_block("latest", full_transactions=True)
    mined = [tx for tx in block["transactions"] if tx["from"] == signer.address and tx["nonce"] == nonce]
    assert mined, f"{function}: the refusal ({refusal}) was not mined: it was stopped before sending"
    tx_hash = HexBytes(mined[0]["hash"]).to_0x_hex()
    assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 0, f"{function} was mined but did not fail"
    trace = w3.provider.make_request("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])["result"]
    on_chain = client.conn.errors.decode(trace.get("output"), prefer=client.NAME)
    assert (on_chain.error, on_chain.contract, on_chain.args_by_name) == (
        refusal.error, refusal.contract, refusal.args_by_name
    ), f"{function}: mined with {on_chain}, but the client reported {refusal}"
    return on_chain


def check_revert(refusal: ContractRevert, error: str, expected: Mapping[str, Any]) -> None:
    """Exactly ``error`` with exactly the arguments ``expected`` (a callable is a predicate)."""
    assert refusal.error == error, f"expected {error}, got {refusal}"
    assert set(refusal.args_by_name) == set(expected), f"{refusal}: arguments {sorted(refusal.args_by_name)}"
    for name, want in expected.items():
        got = refusal.args_by_name[name]
        if callable(want):
            assert want(got), f"{refusal}: {name}={got} fails its check"
        else:
            assert got == want, f"{refusal}: {name}={got}, expected {want}"


class Refusals:
    """``refused(client, signer, "fn", *args, error="Name", **arguments)``: the call is mined
    as a failed transaction (``mined_refusal``) with exactly that error and those arguments
    (a callable argument is a predicate), and the watched state reads the same before and
    after. Without ``error`` the caller checks the returned revert itself.

    The watched state is the union of ``states`` (callables returning ``{name: value}``: a
    ``ViewFingerprint``, a fixture reading ``read_many``) and the views a test adds with
    ``watch``. ``on(client)`` binds the calls to one contract: ``refused(signer, "fn", *args)``."""

    def __init__(self, w3, *states: State) -> None:
        self.w3 = w3
        self.states = states
        self.extra: dict[str, tuple[str, str, tuple[Any, ...]]] = {}

    def watch(self, name: str, address: str, signature: str, *args: Any) -> None:
        self.extra[name] = (address, signature, args)

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for read in self.states:
            state |= read()
        return state | read_many(self.w3, self.extra)

    def __call__(
        self, client, signer, function: str, /, *args: Any, error: str | None = None, **expected: Any
    ) -> ContractRevert:
        assert error is not None or not expected, "arguments to check without the error they belong to"
        before = self.state()
        refusal = mined_refusal(client, signer, function, *args)
        if error is not None:
            check_revert(refusal, error, expected)
        after = self.state()
        changed = {k: (before.get(k), after.get(k)) for k in before | after if before.get(k) != after.get(k)}
        assert not changed, f"{refusal.error} was mined as a failure, but these changed: {changed}"
        return refusal

    def on(self, client) -> Callable[..., ContractRevert]:
        return lambda signer, function, *args, **expected: self(client, signer, function, *args, **expected)


def fuzz_budget(examples: int, steps: int, **options: Any):
    """Hypothesis settings for a stateful test: CI's budget by default; ``SCF_FUZZ_EXAMPLES``
    and ``SCF_FUZZ_STEPS`` raise it (``make fuzz``)."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=int(os.environ.get("SCF_FUZZ_EXAMPLES", examples)),
        stateful_step_count=int(os.environ.get("SCF_FUZZ_STEPS", steps)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        **options,
    )


# Who is not an active member, as the adversarial suites name them; a suite's ``scene`` holds
# an applicant, a suspended and a removed member, ``cast.outsider`` never applied.
NOT_ACTIVE = ["a non-member", "a pending applicant", "a suspended member", "a removed member"]


def not_active(scene, cast, who: str) -> LocalAccount:
    """The account of ``who`` (one of ``NOT_ACTIVE``)."""
    return {
        "a non-member": cast.outsider,
        "a pending applicant": scene.applicant,
        "a suspended member": scene.suspended,
        "a removed member": scene.removed,
    }[who]


def play_story(conn, story, **options):
    """``run_scenario`` on a test's anvil: the story's clock moves with ``evm_increaseTime``
    and its accounts get gas money, as ``ape run scenario`` does."""
    options.setdefault("vaults", Path(options["manifest_dir"]).parent / "vaults")
    return run_scenario(conn, story, clock=DevnetClock(conn), fund_gas=faucet(conn.w3), **options)
