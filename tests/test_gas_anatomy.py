"""``bench/anatomy.py`` splits a transaction's gas from the node's step trace. Checked on a
transfer whose storage is known: a receiver's first cash balance (one word written fresh),
the payer's balance (one word updated), one event, no refund, so every unit must be placed."""

from __future__ import annotations

from bench.anatomy import anatomy
from tests.support import CNY


def calldata_gas(data: bytes) -> int:
    return sum(4 if b == 0 else 16 for b in data)  # EIP-2028


def test_a_first_payment_to_a_member_is_one_fresh_word_one_update_one_event(suite, cast, conn, w3):
    token = suite.token
    assert token.balance_of(cast.tier3.address) == 0
    paid = token.send(cast.bank, "transfer", cast.tier3.address, 1_000 * CNY)

    a = anatomy(conn, paid.tx_hash)

    tx = w3.eth.get_transaction(paid.tx_hash)
    assert a.gas_used == paid.gas_used
    assert a.intrinsic == 21_000 + calldata_gas(bytes(tx["input"]))
    # 20,000 and 2,900 when the token read the word first (the read is then a cold read);
    # 22,100 and 5,000 when the write is the first touch.
    assert a.words_written_fresh == 1 and a.fresh_gas in (20_000, 22_100)
    assert a.words_updated == 1 and a.update_gas in (2_900, 5_000)
    assert (a.events, a.refund) == (1, 0)
    assert a.event_gas == 375 + 3 * 375 + 8 * 32  # LOG3: Transfer(from, to) with the amount as data
    parts = (a.intrinsic + a.fresh_gas + a.update_gas + a.rewrites_gas + a.read_gas + a.call_gas + a.event_gas
             + a.hashing_gas + a.other_gas)
    assert parts - a.refund == a.gas_used
    assert a.calls >= 1 and a.cold_reads >= 1  # the registry's membership check of both sides
