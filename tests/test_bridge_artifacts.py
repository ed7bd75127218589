"""The bridge's versioned artefacts agree with the contracts: a stale ABI or an EIP-712
definition that differs from the contract's type hash fails here, not in a member's wallet."""

import json

from scf.contracts import SUITE
from scf.export import constants
from scf.typed_data import DiscountOffer, offer_digest, type_hash, type_string
from tests.support import BRIDGE


def test_the_committed_abis_are_those_of_the_compiled_contracts(conn):
    for name in SUITE:
        committed = json.loads((BRIDGE / "abi" / f"{name}.json").read_text())
        assert committed == conn.artifacts[name].abi, f"frontend_bridge/abi/{name}.json is stale: run 'make compile'"


def test_the_offer_type_definition_hashes_to_the_desks_type_hash(suite):
    assert type_string("DiscountOffer") == (
        "DiscountOffer(uint256 tokenId,uint256 value,uint256 rateBps,uint256 deadline,uint256 nonce,address financier,"
        "address seller,bool recourse)"
    )
    assert suite.desk.call("OFFER_TYPEHASH") == type_hash("DiscountOffer")


def test_an_offer_digest_built_in_python_is_the_one_the_desk_verifies(suite, cast, conn):
    offer = DiscountOffer(4294967297, 12_345, 450, 1_900_000_000, 7, cast.bank.address, cast.tier1.address)
    assert suite.desk.call("hashOffer", offer.as_tuple()) == offer_digest(offer, conn.chain_id, suite.desk.address)


def test_the_committed_constants_are_those_the_python_package_holds():
    committed = json.loads((BRIDGE / "constants.json").read_text())
    assert committed == constants(), "frontend_bridge/constants.json is stale: run 'make compile'"


def test_the_shared_constants_agree_with_the_chain(suite):
    shared = constants()
    assert shared["decimals"] == suite.token.call("decimals") == suite.voucher.call("valueDecimals")
    assert suite.token.call("symbol") == f"s{shared['currency']}"
    for bit, name in shared["roles"].items():  # the registry publishes each role bit by name
        assert suite.registry.call(f"ROLE_{name.upper().replace(' ', '_')}") == int(bit)
    assert set(shared["contracts"]) == set(suite.deployment.contracts)
