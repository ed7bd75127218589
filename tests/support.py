"""Helpers shared by the test modules: keys, event and view readers, permits.

Fixtures live in conftest.py; these are plain functions and classes."""

from __future__ import annotations

import os
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak
from hexbytes import HexBytes

from scf.chain.devnet import set_balance
from scf.chain.reverts import ContractRevert

ETHER = 10**18


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
    """The raw answers of a fixed list of views, to prove a refused call changed nothing.
    Plain ``eth_call`` with pre-encoded data: a few dozen reads per check stay cheap."""

    def __init__(self, client, calls) -> None:
        self.w3 = client.conn.w3
        self.requests = [{"to": client.address, "data": client.contract.encode_abi(f, list(a))} for f, *a in calls]

    def take(self) -> list[str]:
        return [self.w3.provider.make_request("eth_call", [r, "latest"])["result"] for r in self.requests]


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
        "domain": {"name": "Settlement CNY", "version": "1", "chainId": chain_id, "verifyingContract": token.address},
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), key.key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


# A refused call is sent with this fixed gas limit, so that it is mined as a failed transaction
# (not stopped by the gas estimate before sending): the "nothing changed" comparison after it
# then checks a transaction the chain really executed.
REFUSAL_GAS = 3_000_000


def refusal(client, views: ViewFingerprint):
    """``check(signer, fn, *args)``: the call is mined and fails, the views read the same
    before and after, and the revert (decoded by replaying it) is returned."""

    def check(signer, function: str, *args) -> ContractRevert:
        before = views.take()
        nonce = client.conn.w3.eth.get_transaction_count(signer.address)
        with pytest.raises(ContractRevert) as e:
            client.send(signer, function, *args, gas=REFUSAL_GAS)
        assert client.conn.w3.eth.get_transaction_count(signer.address) == nonce + 1, "the refusal was not mined"
        assert views.take() == before
        return e.value

    return check


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
    from scf.chain.devnet import DevnetClock, faucet
    from scf.scenario import run_scenario

    return run_scenario(conn, story, clock=DevnetClock(conn.w3), fund_gas=faucet(conn.w3), **options)
