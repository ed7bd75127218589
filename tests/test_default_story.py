"""Issue 16's story (scenarios/default.yaml), played by the code `ape run scenario` runs: the
hospital group fails after funding 40 %, and the report's table of who lost what is checked to
the cent against figures computed here from the story's own numbers, not read from the chain."""

from decimal import Decimal

import pytest

from scf.indexer import EventIndex
from scf.inspect import Inspector, parse_voucher
from scf.manifest import load
from scf.money import DAY, to_minor
from scf.scenario import load_scenario
from scf.suite import Suite
from tests.support import ROOT, play_story

DEFAULT_STORY = ROOT / "scenarios" / "default.yaml"


def minor(amount: str) -> int:
    return to_minor(amount, allow_zero=True)


# The story's numbers, as scenarios/default.yaml writes them.
FACE = minor("1000000.00")
TIER2_PART, TIER3_PART = minor("300000.00"), minor("200000.00")
TIER1_PART = FACE - TIER2_PART - TIER3_PART
SECURED, LOAN = minor("250000.00"), minor("250000.00")
COVER, PREMIUM = minor("300000.00"), minor("6000.00")
DEBTOR_PAID, GUARANTOR_PAID = minor("400000.00"), minor("100000.00")
RATE_BPS, DAYS_BEFORE_MATURITY = 600, 60  # tier 3 discounts 30 days into a 90-day voucher
GRACE_DAYS = 3  # the ledger's grace period as deployed


@pytest.fixture(scope="module")
def played(conn, tmp_path_factory):
    """The story played once for the module: (its report, the suite it ran on)."""
    manifest_dir = tmp_path_factory.mktemp("default-story") / "deployments"
    report = play_story(conn, load_scenario(DEFAULT_STORY), manifest_dir=manifest_dir)
    return report, Suite.attach(conn, load(conn.chain_id, manifest_dir))


def test_the_default_story_shares_the_failed_debtors_loss_to_the_cent(played):
    report, _ = played
    data = report.to_json()

    # What the slot received: the debtor's 40 %, the guarantor's 10 %, then the insurer's claim:
    # its cover, since the slot still lacked more than that (1,000,000.00 - 500,000.00).
    claim = min(COVER, FACE - DEBTOR_PAID - GUARANTOR_PAID)
    funded = DEBTOR_PAID + GUARANTOR_PAID + claim
    assert funded == minor("800000.00")

    def share(value: int) -> int:  # the pro-rata payout of a voucher: floor(value x funded / face)
        return value * funded // FACE

    # Tier 3 sold its 200,000.00 for the value less 6 % a year for 60 days (ACT/360, discount
    # rounded up), then the bank put it back after maturity, the grace period and a second:
    # whole days since the sale = 60 + 3.
    price = TIER3_PART - -(-TIER3_PART * RATE_BPS * DAYS_BEFORE_MATURITY // (360 * 10_000))
    assert price == minor("198000.00")
    days_held = DAYS_BEFORE_MATURITY + GRACE_DAYS
    interest = price * RATE_BPS * days_held // (360 * 10_000)
    owed = price + interest - share(TIER3_PART)
    assert (interest, owed) == (minor("2079.00"), minor("40079.00"))

    (table,) = data["losses"]
    rows = {row["member"]: row for row in table["rows"]}
    expected = {
        "MedSupply Co (tier 1)": {"unpaid": TIER1_PART - share(TIER1_PART)},
        "Precision Parts Ltd (tier 2)": {"unpaid": TIER2_PART - share(TIER2_PART)},  # pledged, in custody
        "Raw Polymers Ltd (tier 3)": {"unpaid": TIER3_PART - share(TIER3_PART)},  # put back to it
        "Yangtze Credit Insurance": {"insurer_claim": claim},
        "City Hospital Holdings (guarantor)": {"paid_for_debtor": GUARANTOR_PAID},
    }
    columns = ("unpaid", "written_off", "insurer_claim", "paid_for_debtor")
    assert set(rows) == set(expected)
    for member, figures in expected.items():
        for column in columns:
            assert Decimal(rows[member][column]) == Decimal(figures.get(column, 0)) / 100, (member, column)
        assert Decimal(rows[member]["total"]) == Decimal(sum(figures.values())) / 100
    lost = sum(sum(f.values()) for f in expected.values())
    assert lost == minor("600000.00") == FACE - DEBTOR_PAID  # nothing was left in the ledger
    assert (table["total_lost"], table["paid_by_debtor"], table["held"]) == ("600000.00", "400000.00", "0.00")
    assert table["balances"] is True

    # Cash: every payment of the story, by hand. The bank lent 250,000.00 against tier 2's part,
    # paid 198,000.00 for tier 3's, and received the pledged part's payout (up to what it secures),
    # its own voucher's payout and the recourse debt, which tier 3 paid at once.
    to_bank_from_pledge = min(share(TIER2_PART), SECURED)
    cash = {name: (minor(c["before"]), minor(c["after"])) for name, c in data["cash"].items()}
    assert cash["City Hospital Group"] == (DEBTOR_PAID, 0)
    assert cash["City Hospital Holdings (guarantor)"] == (GUARANTOR_PAID, 0)
    assert cash["MedSupply Co (tier 1)"] == (minor("10000.00"), minor("10000.00") - PREMIUM + share(TIER1_PART))
    assert cash["Precision Parts Ltd (tier 2)"] == (0, LOAN + share(TIER2_PART) - to_bank_from_pledge)
    assert cash["Raw Polymers Ltd (tier 3)"] == (0, price - owed)
    bank_before = minor("2000000.00")
    assert cash["Commerce Bank"] == (
        bank_before,
        bank_before - LOAN - price + to_bank_from_pledge + share(TIER3_PART) + owed,
    )
    assert cash["Yangtze Credit Insurance"] == (minor("1000000.00"), minor("1000000.00") - claim + PREMIUM)
    assert sum(after for _, after in cash.values()) == sum(before for before, _ in cash.values())

    kinds = {(p["member"], p["kind"]): minor(p["amount"]) for p in data["payments"]}
    assert kinds[("Commerce Bank", "pledge payout")] == to_bank_from_pledge
    assert kinds[("Commerce Bank", "recourse")] == owed
    assert kinds[("Raw Polymers Ltd (tier 3)", "put back")] == owed
    assert kinds[("Yangtze Credit Insurance", "claim")] == claim
    assert kinds[("MedSupply Co (tier 1)", "payout")] == share(TIER1_PART)

    text = report.render()
    assert "Who lost what when City Hospital Group failed (slot 1" in text
    assert "CNY 600,000.00" in text and "IT IS NOT" not in text
    assert DAY == 86_400  # the story's days are the chain's


def test_the_inspector_shows_the_failed_slots_policy_payouts_pledge_recourse_and_losses(conn, played):
    _, suite = played
    inspector = Inspector(suite, EventIndex(conn, suite.deployment))
    slot = inspector.slot(1)
    assert "funded CNY 800,000.00   paid out CNY 800,000.00" in slot
    assert "covers CNY 300,000.00 for CNY 6,000.00, claimed, recovery holders first" in slot
    assert "claim paid CNY 300,000.00, recovered CNY 0.00, owed CNY 300,000.00" in slot
    assert "Who loses what" in slot and "lost CNY 600,000.00; the debtor paid CNY 400,000.00" in slot
    for event in ("CreditDesk.ClaimPaid", "ReceivableVoucher.VoucherPartlyPaid", "CreditDesk.CoverBought"):
        assert event in slot, event
    pledged = inspector.voucher(parse_voucher("1.2"))
    assert "PLEDGED  by Precision Parts Ltd (tier 2)" in pledged
    assert "securing CNY 250,000.00 (paid to it CNY 240,000.00)" in pledged
    assert "paid out CNY 240,000.00 pro rata so far" in pledged
    assert "value    CNY 60,000.00" in pledged and "credit desk (custody)" in pledged
    put_back = inspector.voucher(parse_voucher("1.3"))
    assert "holder   Raw Polymers Ltd (tier 3)" in put_back
    assert "DiscountDesk.RecourseExercised" in put_back and "DiscountDesk.RecoursePaid" in put_back
