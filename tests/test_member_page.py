"""The member page in a real browser (headless Chromium driven by Playwright), against anvil
with the suite deployed and seeded: each member's page carries a test wallet that signs with
that member's own key. Accept, split-transfer, discount and redeem are clicked through, and
the chain is checked between the phases."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scf.contracts import label
from scf.manifest import save
from tests.conftest import BANK_OPENING_CASH, CNY, DAY

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = ROOT / "frontend_bridge"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or NODE is None,
    reason="headless Chromium (Debian package 'chromium') or node is missing: run 'make setup' as root to install it",
)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@pytest.fixture(scope="session")
def page_dist(tmp_path_factory) -> Path:
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "vite"), "build", "--config", str(BRIDGE / "vite.config.mjs")],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return BRIDGE / "dist"


@pytest.fixture
def page_url(page_dist, suite, conn, tmp_path):
    """The built page served over HTTP with this chain's manifest and ABIs beside it."""
    site = tmp_path / "site"
    shutil.copytree(page_dist, site)
    save(suite.deployment, site / "deployments")
    for name in ("ConsortiumRegistry", "SettlementToken", "TradeRegistry", "ReceivableVoucher", "DiscountDesk"):
        (site / "abi" / f"{name}.json").write_text(json.dumps(conn.artifacts[name].abi))
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


@pytest.fixture
def settings(page_url, cast, chain, tmp_path):
    def make(**extra):
        return {
            "url": page_url,
            "rpc": chain.provider.uri,
            "chromium": CHROMIUM,
            "keys": {name: "0x" + bytes(getattr(cast, name).key).hex() for name in ("tier1", "tier2", "bank", "hospital")},
            "tier2": cast.tier2.address,
            **extra,
        }

    return make


def run_phase(phase: str, settings: dict) -> dict:
    result = subprocess.run(
        [NODE, str(BRIDGE / "e2e" / "member-flow.mjs"), phase, json.dumps(settings)],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, f"browser phase {phase} failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_wallet_on_another_chain_is_told_to_switch_networks(settings):
    shown = run_phase("wrong-chain", settings())
    assert "Wrong network: your wallet is on chain 1" in shown["banner"]
    assert "Switch your wallet to chain 31337" in shown["banner"]


def test_members_accept_split_discount_and_redeem_from_the_page(suite, cast, invoice, now, settings, travel, tmp_path):
    face = 1_000_000 * CNY
    record = invoice(creditor=cast.tier1, debtor=cast.hospital, amount=face)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, face, now + 90 * DAY, record)
    root = (slot << 32) | 1

    shown = run_phase("trade", settings(slot=slot, screenshot=str(tmp_path / "member-page.png")))
    print("browser timings (ms):", shown["timingsMs"], shown["totalMs"])
    assert "Status: active · roles: supplier" in shown["member"]
    assert shown["accept"].startswith("confirmed: accept slot")
    assert shown["rootValue"] == "CNY 1,000,000.00"
    assert shown["badAmount"].startswith("failed") and "at most 2 decimals" in shown["badAmount"]
    assert shown["badAddress"].startswith("failed") and 'receiver "0x12" is not an address' in shown["badAddress"]
    assert shown["tooMuch"].startswith("failed: send 9999999.00") and "insufficient value" in shown["tooMuch"]
    assert shown["split"].startswith("confirmed")
    assert shown["rootAfterSplit"] == "CNY 600,000.00"
    assert shown["signed"].startswith("confirmed: offer for")
    assert shown["discount"].startswith("confirmed: discount")
    assert shown["replay"].startswith("failed") and "offer already used" in shown["replay"]

    # The chain agrees with what the page showed.
    v = suite.voucher
    tier2_voucher = (slot << 32) | 2
    bank_voucher = (slot << 32) | 3
    assert (v.owner_of(tier2_voucher), v.value_of(tier2_voucher)) == (cast.tier2.address, 400_000 * CNY)
    assert (v.owner_of(bank_voucher), v.value_of(bank_voucher)) == (cast.bank.address, 100_000 * CNY)
    assert v.value_of(root) == 500_000 * CNY
    price = suite.token.balance_of(cast.tier1.address)
    assert 98_800 * CNY < price < 100_000 * CNY  # ~90 days at 4.50 %: about 1,125.00 of interest
    assert suite.token.balance_of(cast.bank.address) == BANK_OPENING_CASH - price
    assert f"cash: CNY {price // 100:,}.{price % 100:02d}" in shown["tier1Member"]

    # Maturity: the hospital pays; tier 2 redeems its voucher from its page.
    suite.token.approve(cast.hospital, v.address, face)
    v.fund(cast.hospital, slot, face)
    travel(91 * DAY)
    shown = run_phase("redeem", settings(voucher=label(tier2_voucher)))
    assert shown["redeem"].startswith(f"confirmed: redeem {label(tier2_voucher)}")
    assert "cash: CNY 400,000.00" in shown["member"]
    assert suite.token.balance_of(cast.tier2.address) == 400_000 * CNY
    assert not v.voucher(tier2_voucher).exists
