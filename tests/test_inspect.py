"""Inspecting the ledger: a three-tier lineage tree, holders and audit trails, from an event
index that refreshes incrementally."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from scf.contracts import DocType, label
from scf.indexer import EventIndex
from scf.inspect import InspectError, Inspector, parse_voucher
from tests.support import CNY


@pytest.fixture
def three_tiers(suite, cast, accepted_voucher):
    """Tier 1 -> tier 2 (400,000.00) -> tier 3 (150,000.00), tier 1 keeps 600,000.00."""
    slot, root = accepted_voucher(face=1_000_000 * CNY)
    t2, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 400_000 * CNY)
    t3, _ = suite.voucher.split_transfer(cast.tier2, t2, cast.tier3.address, 150_000 * CNY)
    return slot, root, t2, t3


def test_inspecting_a_tier3_voucher_shows_its_lineage_back_to_the_root_and_its_audit_trail(
    suite, cast, three_tiers, tmp_path
):
    slot, root, t2, t3 = three_tiers
    index = EventIndex(suite.conn, suite.deployment, tmp_path / "index.sqlite")
    index.refresh()
    text = Inspector(suite, index).voucher(t3)

    assert f"Voucher {label(t3)}" in text
    assert f"lineage  {label(t3)} <- {label(t2)} <- {label(root)}" in text
    assert "Raw Polymers Ltd (tier 3)" in text and "CNY 150,000.00" in text
    tree = text.split("Lineage tree")[1].split("Audit trail")[0]
    rows = tree.strip("\n").splitlines()[1:]
    assert [row[:15].rstrip() for row in rows] == [f"  {label(root)}", f"  └── {label(t2)}", f"      └── {label(t3)}"]
    assert "CNY 600,000.00" in tree and "CNY 250,000.00" in tree
    trail = text.split("Audit trail:")[1]
    assert f"TransferValue(_fromTokenId={label(t2)}, _toTokenId={label(t3)}, _value=CNY 150,000.00)" in trail
    assert "by Precision Parts Ltd (tier 2)" in trail


def test_the_index_refreshes_only_what_is_new_and_survives_a_reopen(suite, cast, three_tiers, tmp_path):
    slot, root, t2, t3 = three_tiers
    path = tmp_path / "index.sqlite"
    first = EventIndex(suite.conn, suite.deployment, path)
    assert first.refresh() > 0
    assert first.refresh() == 0
    suite.voucher.split_transfer(cast.tier1, root, cast.tier3.address, 1 * CNY)
    reopened = EventIndex(suite.conn, suite.deployment, path)
    added = reopened.refresh()
    assert added == 3  # Transfer, SlotChanged, TransferValue of the one new split
    assert len(reopened.ledger().held_by(cast.tier3.address)) == 2


def test_inspecting_a_member_lists_its_vouchers_and_a_slot_its_tree(suite, cast, three_tiers):
    slot, root, t2, t3 = three_tiers
    index = EventIndex(suite.conn, suite.deployment)
    index.refresh()
    inspector = Inspector(suite, index)
    member = inspector.member(cast.tier2.address)
    assert "status active" in member and f"{label(t2)}" in member and "CNY 250,000.00" in member
    slot_text = inspector.slot(slot)
    assert "face value  CNY 1,000,000.00" in slot_text and "accepted" in slot_text


def test_inspecting_a_record_shows_its_trail_and_the_hash_the_chain_keeps_in_its_event(suite, cast):
    """The registry stores what its checks read; the inspector takes the document hash from
    the registration event, and walks the parents on chain."""
    trade, hospital, tier1 = suite.trade, cast.hospital, cast.tier1
    order_hash, invoice_hash = keccak(text="inspect order 31"), keccak(text="inspect invoice 31")
    order, _ = trade.register(hospital, DocType.ORDER, order_hash, tier1.address, 300 * CNY)
    trade.confirm(tier1, order)
    invoice, _ = trade.register(tier1, DocType.INVOICE, invoice_hash, hospital.address, 250 * CNY, order)
    index = EventIndex(suite.conn, suite.deployment)
    index.refresh()

    text = Inspector(suite, index).record(invoice)

    lines = text.splitlines()
    assert lines[0] == f"Trade record {invoice}: invoice CNY 250.00, reserved by vouchers CNY 0.00"
    assert lines[1] == f"  document hash 0x{invoice_hash.hex()}"
    trail = lines[lines.index("Document trail (this record, then its parents):") + 1:][:2]
    assert [line.split()[:3] for line in trail] == [[f"#{invoice}", "invoice", "CNY"], [f"#{order}", "order", "CNY"]]
    assert "registered" in trail[0] and "confirmed" in trail[1]


def test_inspecting_something_that_does_not_exist_says_so_in_one_line(suite, three_tiers):
    index = EventIndex(suite.conn, suite.deployment)
    index.refresh()
    inspector = Inspector(suite, index)
    with pytest.raises(InspectError, match="voucher 99.1 does not exist"):
        inspector.voucher(parse_voucher("99.1"))
    with pytest.raises(InspectError, match="slot 99 does not exist"):
        inspector.slot(99)
    with pytest.raises(InspectError, match="not a voucher"):
        parse_voucher("one.two")
