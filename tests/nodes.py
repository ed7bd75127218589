"""Nodes the fault tests can break: a private anvil process that keeps its chain on disk
across a kill, a provider that kills it at a chosen request, and an RPC proxy that drops,
delays or refuses requests; and a throwaway ape project to run the scripts against such a
node. Test infrastructure only."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import yaml
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from scf.chain import Artifacts, Connection
from scf.chain.devnet import free_port, set_next_timestamp, start_anvil
from tests.support import ROOT as PROJECT_ROOT


class AnvilNode:
    """An anvil that writes its chain to ``state_dir`` when it is stopped (SIGTERM), so a
    restart continues the same chain: mined blocks survive, the unmined pool does not, as on
    a permissioned node that persists every block."""

    def __init__(self, state_dir: Path, *anvil_args: str) -> None:
        self.state = Path(state_dir) / "state.json"
        self.anvil_args = anvil_args  # more of anvil's options: ("--block-time", "1"), say
        self.state.parent.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AnvilNode:
        self.process = start_anvil(self.port, "--state", str(self.state), *self.anvil_args)
        if self.kills:
            # anvil reloads blocks and state but not its clock offset: without this, the next
            # block would be stamped with the wall clock, before the time the story travelled to.
            w3 = Web3(HTTPProvider(self.url))
            set_next_timestamp(w3, int(w3.eth.get_block("latest")["timestamp"]) + 1)
        return self

    def kill(self) -> None:
        """Kills the node (SIGTERM: it writes its chain to disk and exits)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def connect(self, provider: HTTPProvider | None = None, **options) -> Connection:
        return Connection(Web3(provider or HTTPProvider(self.url)), Artifacts.load(), **options)


class KillSwitch(HTTPProvider):
    """A provider that kills ``node`` at the ``at``-th transaction broadcast: ``before`` the node
    receives it (it is never mined) or ``after`` it was mined but before its answer arrives
    (the client cannot know). Either way the client sees the connection drop."""

    def __init__(self, node: AnvilNode, at: int, when: str) -> None:
        super().__init__(node.url)
        self.node, self.at, self.when = node, at, when
        self.sent = 0
        self.fired = False

    def make_request(self, method, params):  # type: ignore[no-untyped-def]
        if self.fired:
            raise requests.ConnectionError(f"connection refused: the node at {self.node.url} was killed")
        if method == "eth_sendRawTransaction":
            self.sent += 1
            if self.sent == self.at:
                if self.when == "after":
                    super().make_request(method, params)
                    self._until_mined(params[0])
                self.fired = True
                self.node.kill()
                raise requests.ConnectionError("connection reset by peer")
        return super().make_request(method, params)

    def make_batch_request(self, batch):  # type: ignore[no-untyped-def]
        """A JSON-RPC batch of broadcasts (``transact_many``): the kill falls at the ``at``-th
        broadcast within it; the node receives the batch's requests before it (``before``) or
        up to it, mined (``after``)."""
        if self.fired:
            raise requests.ConnectionError(f"connection refused: the node at {self.node.url} was killed")
        sends = [i for i, (method, _) in enumerate(batch) if method == "eth_sendRawTransaction"]
        if not self.sent < self.at <= self.sent + len(sends):
            self.sent += len(sends)
            return super().make_batch_request(batch)
        position = sends[self.at - self.sent - 1]
        self.sent = self.at
        received = batch[: position + 1] if self.when == "after" else batch[:position]
        if received:
            super().make_batch_request(received)
        sent = [params[0] for method, params in received if method == "eth_sendRawTransaction"]
        if sent:  # what the node received is mined before the kill, as sends one by one were
            self._until_mined(sent[-1])
        self.fired = True
        self.node.kill()
        raise requests.ConnectionError("connection reset by peer")

    def _until_mined(self, raw: str) -> None:
        """anvil answers a broadcast before it has mined it; a kill in between can leave the
        state written without the block. Wait for the receipt: mined, then the answer lost."""
        tx_hash = "0x" + keccak(hexstr=raw).hex()
        deadline = time.monotonic() + 10
        while super().make_request("eth_getTransactionReceipt", [tx_hash]).get("result") is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tx_hash} was not mined within 10 s")
            time.sleep(0.01)


class CountingProvider(HTTPProvider):
    """Notes, for every transaction broadcast through it, the ``phase`` its user was in."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.phase = ""
        self.phases: list[str] = []

    def make_request(self, method, params):  # type: ignore[no-untyped-def]
        if method == "eth_sendRawTransaction":
            self.phases.append(self.phase)
        return super().make_request(method, params)

    def make_batch_request(self, batch):  # type: ignore[no-untyped-def]
        self.phases += [self.phase for method, _ in batch if method == "eth_sendRawTransaction"]
        return super().make_batch_request(batch)


class FlakyProxy:
    """An HTTP JSON-RPC proxy in front of a node. ``faults[method]`` is a list of what to do
    with the next requests of that method, one entry each: ``"503"`` (answer HTTP 503 without
    forwarding), ``"drop"`` (forward, then close the connection without answering) or
    ``"stall"`` (forward, then answer only after ``stall_seconds``). ``seen`` counts requests.
    With ``extra_data`` set, every block it answers (``BLOCK_METHODS``) carries those bytes as
    its extra-data, as a proof-of-authority node's do (Clique, IBFT, QBFT)."""

    BLOCK_METHODS = ("eth_getBlockByNumber", "eth_getBlockByHash")

    def __init__(self, upstream: str, stall_seconds: float = 3.0, extra_data: bytes | None = None) -> None:
        self.upstream = upstream
        self.stall_seconds = stall_seconds
        self.extra_data = extra_data
        self.faults: dict[str, list[str]] = {}
        self.seen: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                # A JSON-RPC batch counts each request; a fault queued for any of them hits the batch.
                methods = [r.get("method", "") for r in (request if isinstance(request, list) else [request])]
                proxy.seen.update(methods)
                fault = next((proxy.faults[m].pop(0) for m in methods if proxy.faults.get(m)), None)
                if fault == "503":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                forwarded = urllib.request.Request(proxy.upstream, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(forwarded, timeout=30) as node:  # a local node
                    answer = node.read()
                if proxy.extra_data is not None and any(m in proxy.BLOCK_METHODS for m in methods):
                    answer = proxy.with_extra_data(answer)
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "stall":
                    time.sleep(proxy.stall_seconds)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def with_extra_data(self, answer: bytes) -> bytes:
        """The node's answer with the block's extra-data replaced (the block hash is the node's:
        a client does not recompute it)."""
        assert self.extra_data is not None
        reply = json.loads(answer)
        for one in reply if isinstance(reply, list) else [reply]:
            if isinstance(one.get("result"), dict) and "extraData" in one["result"]:
                one["result"]["extraData"] = "0x" + self.extra_data.hex()
        return json.dumps(reply).encode()

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def with_timeout(url: str, seconds: float) -> HTTPProvider:
    return HTTPProvider(url, request_kwargs={"timeout": seconds})


class ScratchProject:
    """A throwaway ape project for running the scripts (``ape run deploy``, ``seed``...) as an
    operator does, against a node of the test's own, without writing into the repository.

    The scripts write into the project they run in (``scf.paths.project_root``: deployments
    and journals in its ``frontend_bridge/``): each run is told this one (``SCF_PROJECT_ROOT``),
    so a value inherited from the caller's environment never points them at the repository.
    ``scf/``, the contracts, the scripts and the last build are copied (ape finds the build
    current and does not compile); node_modules, the compiler bridge and the EIP-712
    definitions are linked. The ape config is the repository's, with the devnet
    (``--network ethereum:devnet:node``, the ape node provider) pointing at ``node_uri``."""

    def __init__(self, root: Path, node_uri: str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        skip = shutil.ignore_patterns("__pycache__", ".cache")
        for folder in ("scf", "scripts", "contracts"):
            shutil.copytree(PROJECT_ROOT / folder, self.root / folder, ignore=skip)
        if (PROJECT_ROOT / ".build").is_dir():
            shutil.copytree(PROJECT_ROOT / ".build", self.root / ".build", ignore=skip)
        for linked in ("node_modules", "tools", "frontend_bridge/typed-data"):
            (self.root / linked).parent.mkdir(parents=True, exist_ok=True)
            (self.root / linked).symlink_to(PROJECT_ROOT / linked, target_is_directory=True)
        config = yaml.safe_load((PROJECT_ROOT / "ape-config.yaml").read_text())
        config["node"]["ethereum"]["devnet"]["uri"] = node_uri
        (self.root / "ape-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.runs = 0

    def ape_run(self, *args: str) -> ApeRun:
        """``ape run ARGS`` in this project, started: the caller may act on the node meanwhile."""
        env = dict(os.environ)
        bin_dirs = [str(PROJECT_ROOT / "node_modules" / ".bin"), str(Path(sys.executable).parent)]
        env["PATH"] = os.pathsep.join([*bin_dirs, env.get("PATH", "")])
        env["SOLCX_BINARY_PATH"] = str(PROJECT_ROOT / "tools" / "solc")
        env["SCF_PROJECT_ROOT"] = str(self.root)
        self.runs += 1
        return ApeRun([str(Path(sys.executable).parent / "ape"), "run", *args], self.root, env,
                      self.root / f"run-{self.runs}")


class ApeRun:
    """A running command whose output goes to files (a pipe nobody reads could stall it)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], output: Path) -> None:
        self.stdout_path, self.stderr_path = output.with_suffix(".out"), output.with_suffix(".err")
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, text=True)

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); the command is killed if it outlives ``timeout``."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        return code, self.stdout_path.read_text(), self.stderr_path.read_text()
