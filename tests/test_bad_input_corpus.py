"""A corpus of broken consortium and scenario files (tests/corpus/): each is rejected whole,
before any transaction, with every message its `# expect:` lines name. A huge file still
names the one bad line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scf.scenario import load_scenario
from scf.seed import SpecError, load_consortium

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(CORPUS.glob("*/*.yaml"))


def expectations(path: Path) -> list[str]:
    return [line.split("# expect:", 1)[1].strip() for line in path.read_text().splitlines() if "# expect:" in line]


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_each_broken_file_is_rejected_with_its_own_messages(path: Path):
    expected = expectations(path)
    assert expected, f"{path.name} names no expected message"
    load = (lambda p: load_consortium(p, 31337)) if path.parent.name == "consortium" else load_scenario
    with pytest.raises(SpecError) as excinfo:
        load(path)
    message = str(excinfo.value)
    missing = [e for e in expected if e not in message]
    assert not missing, f"{path.name}: messages not given: {missing}\nmessage was:\n{message}"


def test_a_huge_consortium_file_names_its_one_bad_line(tmp_path: Path):
    kyc = (CORPUS.parents[1] / "consortium" / "kyc" / "tier1.txt").resolve()
    entries = [
        f"  - name: Supplier {i:05d}\n    dev_key: bulk-{i}\n    roles: [supplier]\n    kyc_file: {kyc}\n"
        for i in range(5_000)
    ]
    entries[4_321] = entries[4_321].replace("roles: [supplier]", "roles: [supplier, pirate]")
    huge = tmp_path / "huge.yaml"
    huge.write_text("members:\n" + "".join(entries))
    with pytest.raises(SpecError) as excinfo:
        load_consortium(huge, 31337)
    assert excinfo.value.problems == [
        f"line {2 + 4 * 4_321}: members[4322]: roles: unknown role 'pirate' "
        "(known: core_enterprise, supplier, financier, auditor, insurer)"
    ]
