"""The benchmarks behind ``make bench`` (``ape run bench``, which runs with the project root on
its import path): gas against the ERC-3525 reference, redemption at scale, tooling
throughput and seeding at consortium scale. Not part of the ``scf`` package; results are
written to ``bench/results.json``."""
