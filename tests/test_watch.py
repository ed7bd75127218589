"""The risk watch (``scf.watch``, ``ape run watch``): a policy file checked whole with line
numbers; each rule raised by a story on the chain (or, for the arithmetic of concentration and
discount rates, by a ledger written out by hand) and kept quiet by its near miss; each alert
raised once and forgotten with the chain it was about.

The cast as conftest admits it: the hospital (credit line 5,000,000.00) owes tier 1, which
pays tier 2 and tier 3; the bank discounts. Vouchers are due in 90 days unless said."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from eth_utils import keccak

from scf.chain.devnet import revert, set_balance, set_next_timestamp, snapshot
from scf.contracts import DocType, MemberStatus, Role, label
from scf.deploy import deploy_suite
from scf.indexer import EventIndex
from scf.suite import Suite
from scf.supervision import Book, Discount, MemberView, SlotView, VoucherView
from scf.typed_data import DiscountOffer
from scf.wallet import dev_key
from scf.watch import DEFAULT_POLICY, RULE_NAMES, Policy, PolicyError, Watch, alerts_page, system_accounts
from scf.watch.rules import CircularTransfer, FinancierConcentration, Overdue, UnfundedNearMaturity
from tests.nodes import AnvilNode, ScratchProject
from tests.support import CNY, DAY, ETHER, FACE, GRACE, KYC, ROOT

POLICY = Policy.load(ROOT / DEFAULT_POLICY)
NO_REASON = b"\0" * 32


def watching(suite: Suite, policy: Policy, *rules: str) -> Callable[[], list[dict]]:
    """A watch of ``rules`` only (all of the policy's if none named) on a fresh index of the
    test's chain: each call indexes the new blocks and returns the alerts newly raised."""
    index = EventIndex(suite.conn, suite.deployment)
    watch = Watch(policy.only(*rules) if rules else policy, index.db, system_accounts(suite.deployment))

    def look() -> list[dict]:
        index.refresh()
        return watch.evaluate(Book.build(index))

    return look


def subjects(alerts: list[dict]) -> list[tuple[str, str, str]]:
    return [(a["rule"], a["subject"]["kind"], a["subject"]["key"]) for a in alerts]


# ----------------------------------------------------------------------------- the policy


def test_the_default_policy_lists_every_rule_with_its_thresholds():
    assert tuple(r.NAME for r in POLICY.rules) == RULE_NAMES
    assert all(r.enabled for r in POLICY.rules)
    assert POLICY.rule(UnfundedNearMaturity).days == 7
    fin = POLICY.rule(FinancierConcentration)
    assert (fin.percent_of_book, fin.min_book, fin.min_vouchers) == (Decimal(50), 1_000_000 * CNY, 3)
    assert POLICY.rule(Overdue).severity == "critical"


BROKEN = """\
unfunded_near_maturity:
  severity: warning
  days: -3
overdue:
  severity: urgent
short_at_maturity: {severity: critical}
debtor_concentration:
  severity: warning
  percent_of_credit_line: 180
financier_concentration:
  severity: warning
  percent_of_book: 50
  min_book: 1000000.00
  min_vouchers: "3"
  max_debtors: 2
circular_transfer:
  severity: warning
  max_hops: 0
velocity:
  severity: warning
  max_moves: 5
member_not_active:
  severity: critical
  enabled: maybe
frozen_near_maturity: [14]
discount_rate:
  severity: warning
  tenor_band_days: 30
  history: 2
  min_history: 3
  max_deviation_bps: 200
wash_trading:
  severity: warning
"""


def test_a_broken_policy_is_refused_whole_with_every_problem_on_its_line(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(BROKEN)
    with pytest.raises(PolicyError) as refused:
        Policy.load(path)
    expected = [
        "line 3: unfunded_near_maturity.days: -3 is negative: expected a whole number of at least 0",
        "line 5: overdue.severity: expected one of warning, critical, got 'urgent'",
        "line 9: debtor_concentration.percent_of_credit_line: 180 is above 100: expected a percentage from 0 to 100",
        "line 13: financier_concentration.min_book: write amounts as quoted strings (got 1000000.0)",
        "line 14: financier_concentration.min_vouchers: expected a whole number of at least 0, got '3'",
        "line 15: financier_concentration: unknown setting 'max_debtors' (settings: severity, enabled, "
        "percent_of_book, min_book, min_vouchers)",
        "line 18: circular_transfer.max_hops: 0 is zero: expected a whole number of at least 1",
        "line 19: velocity: missing setting window_hours",
        "line 24: member_not_active.enabled: expected true or false, got 'maybe'",
        "line 25: frozen_near_maturity: expected a mapping of settings",
        "line 30: discount_rate.min_history: 3 is more than history (2): no discount could ever be judged",
        "line 32: unknown rule 'wash_trading' (rules: " + ", ".join(RULE_NAMES) + ")",
    ]
    assert refused.value.problems == expected
    assert str(refused.value).startswith(f"{path}: 12 problem(s)\n  - line 3: ")


def test_a_policy_without_a_rule_or_with_one_twice_says_so():
    text = (ROOT / DEFAULT_POLICY).read_text()
    without_velocity = text.replace("velocity:", "velocity_off:")
    with pytest.raises(PolicyError) as refused:
        Policy.from_text(without_velocity + "overdue:\n  severity: warning\n", "p.yaml")
    problems = refused.value.problems
    overdue_line = text.splitlines().index("overdue:") + 1
    last_line = len(text.splitlines()) + 1
    assert problems[0].startswith("line ") and "unknown rule 'velocity_off'" in problems[0]
    assert problems[1] == f"line {last_line}: rule overdue is already set on line {overdue_line}"
    first_rule = text.splitlines().index("unfunded_near_maturity:") + 1  # where the mapping of rules starts
    assert problems[2] == (
        f"line {first_rule}: rule velocity is missing (keep every rule; write 'enabled: false' to switch one off)"
    )
    assert len(problems) == 3


@pytest.mark.parametrize("text, problem", [
    ("", "line 1: expected a mapping of rule name -> settings"),
    ("- overdue\n", "line 1: expected a mapping of rule name -> settings"),
    ("overdue: [\n", "not valid YAML"),
])
def test_a_policy_that_is_no_mapping_of_rules_is_refused_in_one_line(text, problem):
    with pytest.raises(PolicyError, match="1 problem") as refused:
        Policy.from_text(text, "p.yaml")
    assert refused.value.problems[0].startswith(problem)


def test_a_missing_policy_file_is_named(tmp_path):
    with pytest.raises(PolicyError, match=r"nowhere\.yaml: 1 problem\(s\)\n  - file not found"):
        Policy.load(tmp_path / "nowhere.yaml")


# ------------------------------------------------------------ a ledger written out by hand

NOW = 1_900_000_000
DEBTOR_A, DEBTOR_B = "0x" + "aa" * 20, "0x" + "bb" * 20
BANK, FACTOR, DESK = "0x" + "ba" * 20, "0x" + "fa" * 20, "0x" + "de" * 20


class HandBook:
    """A ``Book`` built by hand: debtors A and B, each with one 90-day slot per voucher added."""

    def __init__(self) -> None:
        self.book = Book(block=100, now=NOW, members={}, slots={}, vouchers={}, records={}, discounts=[], event_count=0)
        self.member(DEBTOR_A, "Debtor A", Role.CORE_ENTERPRISE, credit=10_000_000 * CNY)
        self.member(DEBTOR_B, "Debtor B", Role.CORE_ENTERPRISE, credit=10_000_000 * CNY)

    def member(self, address: str, name: str, roles: Role, credit: int = 0) -> None:
        self.book.members[address] = MemberView(address, name, roles, MemberStatus.ACTIVE, credit)

    def voucher(self, holder: str, debtor: str, value: int) -> None:
        slot = len(self.book.slots) + 1
        self.book.slots[slot] = SlotView(slot, debtor, holder, value, NOW + 90 * DAY, NOW - DAY, 0)
        token = slot << 32 | 1
        self.book.vouchers[token] = VoucherView(token, slot, 0, holder, value)

    def discount(self, debtor: str, rate_bps: int, tenor_days: int) -> None:
        n = len(self.book.discounts) + 1
        self.book.discounts.append(
            Discount(NOW - 1000 + n, n, BANK, FACTOR, 7 << 32 | n, 7, debtor, 100 * CNY, 99 * CNY, rate_bps, tenor_days)
        )


def evaluate(book: Book, policy: Policy, *rules: str, system: tuple[str, ...] = ()) -> list[dict]:
    return Watch(policy.only(*rules), sqlite3.connect(":memory:"), system).evaluate(book)


def test_a_financier_with_more_than_half_its_book_in_one_debtor_is_named_once_per_debtor():
    hand = HandBook()
    hand.member(BANK, "Commerce Bank", Role.FINANCIER)
    hand.voucher(BANK, DEBTOR_A, 600_000 * CNY)
    hand.voucher(BANK, DEBTOR_A, 100_000 * CNY)
    hand.voucher(BANK, DEBTOR_B, 300_000 * CNY)  # A: 700,000.00 of 1,000,000.00 = 70 %
    (alert,) = evaluate(hand.book, POLICY, "financier_concentration")
    assert alert["subject"] == {"kind": "member", "key": BANK}
    assert alert["severity"] == "warning" and alert["block"] == 100 and alert["timestamp"] == NOW
    assert alert["message"] == (
        f"Commerce Bank ({BANK[:8]}…) holds CNY 700,000.00 owed by Debtor A ({DEBTOR_A[:8]}…): 70.0 % of its book "
        "of CNY 1,000,000.00 in 3 vouchers (policy: 50 %)"
    )


def test_a_balanced_book_a_small_book_and_the_suites_own_custody_raise_no_concentration():
    hand = HandBook()
    hand.member(BANK, "Commerce Bank", Role.FINANCIER)
    for debtor in (DEBTOR_A, DEBTOR_A, DEBTOR_B, DEBTOR_B):  # 50 % each: not above 50 %
        hand.voucher(BANK, debtor, 250_000 * CNY)
    hand.member(FACTOR, "Harbour Factoring", Role.FINANCIER)
    hand.voucher(FACTOR, DEBTOR_A, 999_999 * CNY)  # all in A, but one voucher and below min_book
    hand.member(DESK, "Credit desk (custody)", Role.FINANCIER)
    for _ in range(3):
        hand.voucher(DESK, DEBTOR_A, 1_000_000 * CNY)  # the suite's own account
    assert evaluate(hand.book, POLICY, "financier_concentration", system=(DESK,)) == []
    three_small = replace(POLICY.rule(FinancierConcentration), min_book=0, min_vouchers=1)
    (alert,) = evaluate(hand.book, POLICY.replace(three_small), "financier_concentration", system=(DESK,))
    assert alert["subject"]["key"] == FACTOR


def test_a_discount_far_from_the_median_of_its_debtor_and_tenor_is_flagged():
    hand = HandBook()
    for rate in (600, 640, 560, 900):  # median of 600, 640, 560 is 600: 900 is 300 bps away (> 200)
        hand.discount(DEBTOR_A, rate, 80)
    (alert,) = evaluate(hand.book, POLICY, "discount_rate")
    assert alert["subject"] == {"kind": "voucher", "key": "7.4"}
    assert "at 900 bps a year, 80 days before maturity" in alert["message"]
    assert "the median of the last 3 discounts of that debtor within 30 days of that tenor is 600 bps" in (
        alert["message"])


def test_a_discount_within_the_band_another_tenor_or_another_debtor_is_not_flagged():
    hand = HandBook()
    for rate in (600, 640, 560, 790):  # 190 bps from the median: within 200
        hand.discount(DEBTOR_A, rate, 80)
    for rate in (1500, 1500, 1500):  # the same debtor at 150 days: another tenor band
        hand.discount(DEBTOR_A, rate, 150)
    hand.discount(DEBTOR_B, 2000, 80)  # another debtor, with no history of its own
    hand.discount(DEBTOR_A, 1200, 10)  # a 10-day tenor: only two of A's discounts are within 30 days (min 3)
    assert evaluate(hand.book, POLICY, "discount_rate") == []


# -------------------------------------------------------------------- rules on the chain


def test_a_slot_unfunded_a_week_before_maturity_is_flagged_and_a_funded_one_is_not(
    suite, cast, accepted_voucher, travel
):
    look = watching(suite, POLICY, "unfunded_near_maturity")
    unpaid, _ = accepted_voucher(FACE, 90)
    paid, _ = accepted_voucher(FACE, 90)
    suite.token.approve(cast.hospital, suite.voucher.address, FACE)
    suite.voucher.fund(cast.hospital, paid, FACE)
    travel(82 * DAY)  # about 8 days left: outside the 7-day warning
    assert look() == []
    travel(2 * DAY)  # about 6 days left
    (alert,) = look()
    assert subjects([alert]) == [("unfunded_near_maturity", "slot", str(unpaid))]
    assert "CNY 1,000,000.00 unfunded" in alert["message"] and "City Hospital Group" in alert["message"]
    assert look() == []  # raised once, not on every block


def test_a_slot_short_at_maturity_and_then_overdue_raises_both_and_a_funded_slot_neither(
    suite, cast, accepted_voucher, travel
):
    look = watching(suite, POLICY, "short_at_maturity", "overdue")
    short, _ = accepted_voucher(FACE, 90)
    paid, _ = accepted_voucher(FACE, 90)
    suite.token.approve(cast.hospital, suite.voucher.address, FACE + 400_000 * CNY)
    suite.voucher.fund(cast.hospital, paid, FACE)
    suite.voucher.fund(cast.hospital, short, 400_000 * CNY)
    travel(89 * DAY)
    assert look() == []
    travel(DAY + 60)  # matured, within the grace period
    (alert,) = look()
    assert subjects([alert]) == [("short_at_maturity", "slot", str(short))]
    assert alert["severity"] == "critical"
    assert "matured with CNY 400,000.00 funded, CNY 600,000.00 short of face value" in alert["message"]
    travel(GRACE)
    suite.voucher.mark_overdue(cast.tier2, short)
    (alert,) = look()
    assert subjects([alert]) == [("overdue", "slot", str(short))]
    assert "CNY 600,000.00 unfunded" in alert["message"]


def test_a_debtor_above_80_percent_of_its_credit_line_is_flagged(suite, cast, accepted_voucher):
    look = watching(suite, POLICY, "debtor_concentration")
    accepted_voucher(4_000_000 * CNY)  # 80 % of 5,000,000.00: not above
    assert look() == []
    accepted_voucher(1 * CNY)
    (alert,) = look()
    assert subjects([alert]) == [("debtor_concentration", "debtor", cast.hospital.address)]
    assert "owes CNY 4,000,001.00 on its live slots, 80.0 % of its credit line of CNY 5,000,000.00" in alert["message"]


def test_value_split_back_to_a_holder_it_left_is_a_circular_transfer(suite, cast, accepted_voucher):
    look = watching(suite, POLICY, "circular_transfer")
    slot, root = accepted_voucher(FACE)
    t2, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 400_000 * CNY)
    t3, _ = suite.voucher.split_transfer(cast.tier2, t2, cast.tier3.address, 100_000 * CNY)
    assert look() == []  # tier 1 -> tier 2 -> tier 3: value travelling up the chain
    back, _ = suite.voucher.split_transfer(cast.tier3, t3, cast.tier1.address, 50_000 * CNY)
    (alert,) = look()
    assert subjects([alert]) == [("circular_transfer", "voucher", label(back))]
    assert alert["message"].startswith(f"value of slot {slot} came back to MedSupply Co (tier 1)")
    assert "after 3 hops" in alert["message"]
    assert "MedSupply Co (tier 1) (" in alert["message"] and " -> Raw Polymers Ltd (tier 3) (" in alert["message"]


def test_value_merged_back_into_the_senders_voucher_is_a_circular_transfer(suite, cast, accepted_voucher):
    look = watching(suite, POLICY, "circular_transfer")
    _, root = accepted_voucher(FACE)
    t2, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 400_000 * CNY)
    suite.voucher.merge(cast.tier2, t2, root, 400_000 * CNY)  # tier 2 sends it all back into tier 1's voucher
    (alert,) = look()
    assert subjects([alert]) == [("circular_transfer", "voucher", label(root))]
    assert "after 2 hops" in alert["message"]


def test_a_return_beyond_max_hops_a_pledge_in_custody_and_a_recourse_put_back_are_not_circular(
    suite, cast, accepted_voucher, w3
):
    two_hops = POLICY.replace(replace(POLICY.rule(CircularTransfer), max_hops=2))
    look = watching(suite, two_hops, "circular_transfer")
    slot, root = accepted_voucher(FACE)
    t2, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 400_000 * CNY)
    t3, _ = suite.voucher.split_transfer(cast.tier2, t2, cast.tier3.address, 100_000 * CNY)
    suite.voucher.split_transfer(cast.tier3, t3, cast.tier1.address, 50_000 * CNY)  # back after 3 hops
    # Tier 2 pledges its voucher to the bank (custody at the credit desk) and has it back.
    suite.voucher.send(cast.tier2, "approve(address,uint256)", suite.credit.address, t2)
    maturity = suite.voucher.slot(slot).maturity
    suite.credit.pledge(cast.tier2, t2, 300_000 * CNY, cast.bank.address, 100_000 * CNY, maturity - 30 * DAY)
    suite.credit.release_pledge(cast.bank, t2)
    # Tier 1 sells part with recourse to the bank; the slot defaults and the bank puts it back.
    suite.token.approve(cast.bank, suite.desk.address, FACE)
    offer = DiscountOffer(root, 100_000 * CNY, 600, maturity, 1, cast.bank.address, cast.tier1.address, recourse=True)
    sold, _, _ = suite.desk.discount(cast.tier1, offer, suite.desk.sign(cast.bank.key, offer))
    set_next_timestamp(w3, maturity + GRACE + 1)
    suite.voucher.mark_overdue(cast.tier2, slot)
    suite.desk.put_back(cast.bank, sold)
    assert suite.voucher.owner_of(sold) == cast.tier1.address
    assert look() == []


def test_a_voucher_moved_six_times_in_a_day_is_too_fast_and_six_times_in_two_days_is_not(
    suite, cast, accepted_voucher, travel
):
    look = watching(suite, POLICY, "velocity")
    _, fast = accepted_voucher(FACE)
    _, steady = accepted_voucher(FACE)
    paid = []
    for _ in range(5):
        paid.append(suite.voucher.split_transfer(cast.tier1, fast, cast.tier2.address, 1_000 * CNY)[0])
        suite.voucher.split_transfer(cast.tier1, steady, cast.tier2.address, 1_000 * CNY)
    assert look() == []  # five moves each: at most five a day is the policy
    suite.voucher.merge(cast.tier1, fast, paid[0], 1_000 * CNY)  # a merge out of it is a move too
    (alert,) = look()
    assert subjects([alert]) == [("velocity", "voucher", label(fast))]
    assert f"voucher {label(fast)} of slot {fast >> 32} " in alert["message"]
    assert "moved 6 times within 24 h" in alert["message"]
    travel(DAY)  # the steady voucher's sixth move comes a day after its first
    suite.voucher.split_transfer(cast.tier1, steady, cast.tier2.address, 1_000 * CNY)
    assert look() == []


def test_a_member_suspended_while_holding_vouchers_is_flagged_each_time_and_one_holding_none_is_not(
    suite, cast, accepted_voucher, travel
):
    look = watching(suite, POLICY, "member_not_active")
    _, root = accepted_voucher(FACE)
    suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 250_000 * CNY)
    suite.registry.suspend(cast.operator, cast.tier3.address)  # holds nothing, owes nothing
    assert look() == []
    suite.registry.suspend(cast.operator, cast.tier2.address)
    (alert,) = look()
    assert subjects([alert]) == [("member_not_active", "member", cast.tier2.address)]
    assert alert["severity"] == "critical"
    assert "Precision Parts Ltd (tier 2)" in alert["message"]
    assert "is suspended since" in alert["message"] and "holds 1 live vouchers worth CNY 250,000.00" in alert["message"]
    assert look() == []
    suite.registry.reinstate(cast.operator, cast.tier2.address)
    travel(DAY)
    suite.registry.remove(cast.operator, cast.tier2.address)  # a new episode: raised again
    (alert,) = look()
    assert subjects([alert]) == [("member_not_active", "member", cast.tier2.address)]
    assert "is removed since" in alert["message"]


def test_a_frozen_voucher_two_weeks_from_maturity_is_flagged_and_a_frozen_one_far_from_it_is_not(
    suite, cast, accepted_voucher, travel
):
    look = watching(suite, POLICY, "frozen_near_maturity")
    _, soon = accepted_voucher(FACE, 30)
    _, later = accepted_voucher(FACE, 90)
    suite.voucher.freeze(cast.operator, soon, NO_REASON)
    suite.voucher.freeze(cast.operator, later, NO_REASON)
    assert look() == []
    travel(17 * DAY)  # the 30-day voucher is 13 days from maturity
    (alert,) = look()
    assert subjects([alert]) == [("frozen_near_maturity", "voucher", label(soon))]
    assert "is frozen and its slot matures in 13.0 days" in alert["message"]


def test_the_banks_fourth_discount_of_the_hospitals_paper_at_twice_the_usual_rate_is_flagged(
    suite, cast, accepted_voucher
):
    look = watching(suite, POLICY, "discount_rate")
    slot, root = accepted_voucher(FACE)
    suite.token.approve(cast.bank, suite.desk.address, FACE)
    maturity = suite.voucher.slot(slot).maturity
    for nonce, rate in enumerate((600, 620, 580, 1200), start=1):
        offer = DiscountOffer(root, 100_000 * CNY, rate, maturity, nonce, cast.bank.address, cast.tier1.address)
        token, _, sale = suite.desk.discount(cast.tier1, offer, suite.desk.sign(cast.bank.key, offer))
    days_left = (maturity - suite.conn.block_timestamp(sale.block_number)) // DAY  # of the last sale, whole days
    (alert,) = look()
    assert subjects([alert]) == [("discount_rate", "voucher", label(token))]
    assert f"at 1200 bps a year, {days_left} days before maturity" in alert["message"]
    assert "is 600 bps (policy: at most 200 bps away)" in alert["message"]


# ------------------------------------------------------------------ raised once, kept, gone


def test_alerts_are_raised_once_kept_beside_the_index_and_paged_newest_first(suite, cast, accepted_voucher, tmp_path):
    path = tmp_path / "index.sqlite"
    index = EventIndex(suite.conn, suite.deployment, path)
    watch = Watch(POLICY, index.db, system_accounts(suite.deployment))
    _, root = accepted_voucher(FACE)
    for member in (cast.tier2, cast.tier3):
        suite.voucher.split_transfer(cast.tier1, root, member.address, 1_000 * CNY)
        suite.registry.suspend(cast.operator, member.address)
    index.refresh()
    raised = watch.evaluate(Book.build(index))
    assert set(subjects(raised)) == {
        ("member_not_active", "member", cast.tier2.address), ("member_not_active", "member", cast.tier3.address),
    }
    assert set(raised[0]) == {"id", "rule", "severity", "subject", "message", "block", "timestamp"}
    assert watch.evaluate(Book.build(index)) == []

    reopened = EventIndex(suite.conn, suite.deployment, path)  # a restarted watch, the same chain
    again = Watch(POLICY, reopened.db, system_accounts(suite.deployment))
    reopened.refresh()
    assert again.evaluate(Book.build(reopened)) == []
    total, page = alerts_page(reopened.db, "member_not_active", offset=0, limit=1)
    assert total == 2 and [a["id"] for a in page] == [max(a["id"] for a in raised)]
    assert alerts_page(reopened.db, "overdue") == (0, [])
    assert alerts_page(sqlite3.connect(":memory:")) == (0, [])  # an index no watch has run on


def test_the_alerts_of_a_chain_the_index_discards_go_with_it(suite, cast, accepted_voucher, w3):
    index = EventIndex(suite.conn, suite.deployment)
    watch = Watch(POLICY.only("member_not_active"), index.db, system_accounts(suite.deployment))
    _, root = accepted_voucher(FACE)
    suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 1_000 * CNY)
    before = snapshot(w3)
    suite.registry.suspend(cast.operator, cast.tier2.address)
    index.refresh()
    assert len(watch.evaluate(Book.build(index))) == 1
    revert(w3, before)  # the suspension never happened on the chain the node now has
    w3.provider.make_request("evm_mine", [])
    w3.provider.make_request("evm_mine", [])
    index.refresh()  # the last indexed block is gone: the index starts again
    assert watch.evaluate(Book.build(index)) == []
    assert alerts_page(index.db) == (0, [])


# --------------------------------------------------------------------------- the command


def test_ape_run_watch_once_prints_each_new_alert_as_a_json_line_and_not_again(tmp_path):
    node = AnvilNode(tmp_path / "node").start()
    try:
        project = ScratchProject(tmp_path / "project", node.url)
        (project.root / DEFAULT_POLICY).parent.mkdir()
        shutil.copy(ROOT / DEFAULT_POLICY, project.root / DEFAULT_POLICY)  # the policy it reads by default
        conn = node.connect()
        governance, operator = dev_key("watch governance"), dev_key("watch operator")
        hospital, supplier = dev_key("watch hospital"), dev_key("watch supplier")
        for key in (governance, operator, hospital, supplier):
            set_balance(conn.w3, key.address, 10 * ETHER)
        report = deploy_suite(conn, governance, operator, manifest_dir=project.root / "frontend_bridge" / "deployments")
        suite = Suite.attach(conn, report.deployment)
        suite.registry.admit(operator, hospital.address, "City Hospital Group", Role.CORE_ENTERPRISE, KYC, 5 * FACE)
        suite.registry.admit(operator, supplier.address, "Lint\x1b[2J Supplies", Role.SUPPLIER, KYC)
        invoice = keccak(text="watch invoice")
        record, _ = suite.trade.register(supplier, DocType.INVOICE, invoice, hospital.address, FACE)
        suite.trade.confirm(hospital, record)
        slot, _ = suite.voucher.issue(hospital, supplier.address, FACE, conn.block_timestamp() + 90 * DAY, record)
        root, _ = suite.voucher.accept(supplier, slot)
        suite.registry.suspend(operator, supplier.address)

        code, out, err = project.ape_run("watch", "--network", "ethereum:devnet:node", "--once", "--json").wait(120)
        assert code == 0, out + err
        (alert,) = _json_lines(out)
        assert alert["rule"] == "member_not_active" and alert["subject"] == {"kind": "member", "key": supplier.address}
        assert alert["message"].startswith("Lint\x1b[2J Supplies (")  # the name as chosen, in the JSON
        assert "\x1b" not in err and "Lint\\x1b[2J Supplies" in err  # the table escapes it
        assert "member_not_active" in err and "1 alerts on record" in err

        code, out, err = project.ape_run("watch", "--network", "ethereum:devnet:node", "--once", "--json").wait(120)
        assert (code, _json_lines(out)) == (0, []), err  # raised once: a second look at the chain has nothing new
        assert "1 alerts on record" in err

        broken = tmp_path / "broken.yaml"
        broken.write_text((ROOT / DEFAULT_POLICY).read_text().replace("max_hops: 4", "max_hops: four"))
        code, out, err = project.ape_run("watch", "--network", "ethereum:devnet:node", "--once",
                                         "--policy", str(broken)).wait(120)
        line = (ROOT / DEFAULT_POLICY).read_text().splitlines().index("  max_hops: 4") + 1
        assert code == 2 and _json_lines(out) == [], err
        assert f"line {line}: circular_transfer.max_hops: expected a whole number of at least 1, got 'four'" in err
        kept = sqlite3.connect(project.root / ".cache" / "index-31337.sqlite")
        assert [a["id"] for a in alerts_page(kept)[1]] == [alert["id"]]  # the refused run changed nothing
    finally:
        node.stop()


def _json_lines(out: str) -> list[dict]:
    """The alerts among stdout's lines (ape prints its own notices there too, as plain text)."""
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]
