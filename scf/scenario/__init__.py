"""Financing stories as data: a YAML file names the members and the steps (``spec``); the
runner plays them on a chain, resumably (``runner``) and reports who was paid what, the
lineage of every voucher, each supplier's effective financing cost and the gas of every
operation (``report``)."""

from scf.scenario.report import Financing, Payment, ScenarioReport, write_json
from scf.scenario.runner import Clock, journal_path, run_scenario
from scf.scenario.spec import Scenario, load_scenario, parse_scenario

__all__ = [
    "Clock",
    "Financing",
    "Payment",
    "Scenario",
    "ScenarioReport",
    "journal_path",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "write_json",
]
