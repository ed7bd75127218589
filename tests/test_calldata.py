"""Transaction data is encoded as web3 would encode it, with the arguments normalised the
same way, and checked here against an encoding built by hand from the ABI types."""

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3.exceptions import InvalidAddress

from scf.chain.sending import calldata
from scf.contracts import DocType
from scf.contracts.voucher import MERGE, SPLIT_TRANSFER


def by_hand(signature: str, types: list[str], values: list) -> str:
    return "0x" + (keccak(text=signature)[:4] + encode(types, values)).hex()


def test_a_hex_string_for_bytes32_and_keyword_arguments_encode_as_web3_normalises_them(suite, cast):
    doc = keccak(text="an invoice")
    expected = by_hand(
        "register(uint8,bytes32,address,uint256,uint256)",
        ["uint8", "bytes32", "address", "uint256", "uint256"],
        [int(DocType.INVOICE), doc, cast.hospital.address, 12_345, 0],
    )
    trade = suite.trade.contract.functions
    positional = trade.register(int(DocType.INVOICE), "0x" + doc.hex(), cast.hospital.address, 12_345, 0)
    mixed = trade.register(int(DocType.INVOICE), doc, counterparty=cast.hospital.address, amount=12_345,
                           parentRecordId=0)
    assert calldata(positional) == calldata(mixed) == expected


def test_an_overloaded_function_named_by_signature_encodes_that_overload(suite, cast):
    voucher = suite.voucher
    split = calldata(voucher.fn(SPLIT_TRANSFER, 7, cast.tier2.address, 100))
    merge = calldata(voucher.fn(MERGE, 7, 8, 100))
    assert split == by_hand(SPLIT_TRANSFER, ["uint256", "address", "uint256"], [7, cast.tier2.address, 100])
    assert merge == by_hand(MERGE, ["uint256", "uint256", "uint256"], [7, 8, 100])


def test_an_address_that_is_not_checksummed_is_refused_as_web3_refuses_it(suite, cast):
    lower = cast.tier2.address.lower()
    assert to_checksum_address(lower) == cast.tier2.address
    with pytest.raises(InvalidAddress, match="only accepts checksum addresses"):
        calldata(suite.voucher.fn(SPLIT_TRANSFER, 7, lower, 100))


def test_a_struct_argument_encodes_as_its_tuple_and_a_lower_case_address_inside_it_is_refused(suite, cast):
    offer = (4294967297, 12_345, 450, 1_900_000_000, 7, cast.bank.address, cast.tier1.address, True)
    signature = b"\x01" * 65
    struct = "(uint256,uint256,uint256,uint256,uint256,address,address,bool)"
    expected = by_hand(f"discount({struct},bytes)", [struct, "bytes"], [offer, signature])
    assert calldata(suite.desk.fn("discount", offer, signature)) == expected
    assert calldata(suite.desk.fn("discount", offer, "0x" + signature.hex())) == expected  # hex for bytes
    lower = (*offer[:5], cast.bank.address.lower(), *offer[6:])
    with pytest.raises(InvalidAddress, match="only accepts checksum addresses"):
        calldata(suite.desk.fn("discount", lower, signature))


def test_a_prepared_call_encodes_as_the_contract_function_would(suite, cast):
    """``ContractClient.prepared`` (the bulk path) gives the bytes ``calldata`` gives, for an
    overload, a struct array with a string, and a hex string web3 normalises."""
    voucher, registry, trade = suite.voucher, suite.registry, suite.trade
    split = voucher.prepared(SPLIT_TRANSFER, 7, cast.tier2.address, 100)
    assert (split.address, split.data) == (voucher.address, by_hand(
        SPLIT_TRANSFER, ["uint256", "address", "uint256"], [7, cast.tier2.address, 100]))
    firms = [(cast.tier2.address, 2, 0, keccak(text="kyc"), "Tier Two"),
             (cast.bank.address, 4, 0, keccak(text="kyc 2"), "Bank")]
    admissions = "(address,uint8,uint256,bytes32,string)[]"
    assert registry.prepared("admitBatch", firms).data == by_hand(f"admitBatch({admissions})", [admissions], [firms])
    doc = keccak(text="an invoice")
    hexed = trade.prepared("register", int(DocType.INVOICE), "0x" + doc.hex(), cast.hospital.address, 5, 0)
    assert hexed.data == calldata(trade.fn("register", int(DocType.INVOICE), doc, cast.hospital.address, 5, 0))
    with pytest.raises(InvalidAddress, match="only accepts checksum addresses"):
        voucher.prepared(SPLIT_TRANSFER, 7, cast.tier2.address.lower(), 100)


def test_revert_data_that_does_not_decode_is_an_unknown_error_not_a_crash(conn):
    """Revert data comes from whatever contract was called (a financier's smart wallet, say):
    a suite error's selector over a body that is not its arguments never breaks the caller; it
    is shown as unknown data, or (where the decoder pads a short body) as that error."""
    selector = keccak(text="InsufficientValue(uint256,uint256,uint256)")[:4]
    crafted = [selector, selector + b"\x01" * 5, selector + encode(["uint256"], [1]),
               keccak(text="NotHolder(uint256,address)")[:4] + b"\xff" * 64,  # an address with dirty padding
               bytes.fromhex("08c379a0") + encode(["uint256"], [2**255])]  # Error(string) pointing nowhere
    for data in crafted:
        decoded = conn.errors.decode(data)
        assert decoded.error in ("UnknownError", "InsufficientValue", "NotHolder", "Error"), data
        if decoded.error == "UnknownError":
            assert decoded.args_by_name == {"data": data}
    assert conn.errors.decode(crafted[3]).error == "UnknownError"  # no padding makes it an address
    whole = conn.errors.decode(selector + encode(["uint256"] * 3, [7, 1, 2]))
    assert (whole.error, whole.args_by_name) == ("InsufficientValue", {"tokenId": 7, "value": 1, "needed": 2})
