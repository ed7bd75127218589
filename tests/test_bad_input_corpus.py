"""A corpus of broken consortium and scenario files (tests/corpus/): each is rejected whole,
before any transaction, with every message its `# expect:` lines name. A huge file still
names the one bad line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

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


def test_a_consortium_file_in_json_reads_as_its_yaml_twin_and_still_names_the_line_of_a_problem(tmp_path: Path):
    """JSON is YAML too: a generated consortium may be JSON (parsed 40 times faster); its
    members are the YAML file's, and a problem in it is named by its line as in YAML."""
    example = Path(__file__).resolve().parents[1] / "consortium" / "example.yaml"
    raw = yaml.safe_load(example.read_text())
    for entry in raw["members"]:
        entry["kyc_file"] = str((example.parent / entry["kyc_file"]).resolve())
    as_json = tmp_path / "consortium.json"
    as_json.write_text(json.dumps(raw, indent=2))
    assert load_consortium(as_json, 31337) == load_consortium(example, 31337)

    raw["members"][3]["roles"] = ["supplier", "pirate"]
    as_json.write_text(json.dumps(raw, indent=2))
    line = next(n for n, text in enumerate(as_json.read_text().splitlines(), start=1) if "pirate" in text)
    with pytest.raises(SpecError) as excinfo:
        load_consortium(as_json, 31337)
    (problem,) = excinfo.value.problems
    assert problem.startswith("line ") and "members[4]: roles: unknown role 'pirate'" in problem
    # The member's mapping opens a few lines above its roles.
    assert 0 < line - int(problem.split()[1].rstrip(":")) < 8
