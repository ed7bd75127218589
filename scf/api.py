"""The read API: the supervision read model (``scf.supervision``) over HTTP, as JSON, for the
regulator's view in the web app and for anyone's tooling.

One process beside the chain: a background thread refreshes the SQLite event index from new
blocks (and runs the risk watch on each new block), and a Starlette app answers GET requests
from the last ``Book`` it built. The chain is the only writer of the ledger: a member signs
its own actions in its own wallet. The one thing the service takes in is a financier's signed
discount offer (``POST /api/offers``), which the offer board (``scf.offers``) checks against
the chain before it keeps it; the service never signs or sends anything. It has no access
control of its own: a consortium puts it behind its reverse proxy (mutual TLS or its single
sign-on), as README.md says.

Started with ``make serve`` (``ape run serve``); tests use ``running(service)``.

Starlette and uvicorn: the ASGI framework and server that FastAPI itself builds on, small,
typed, and released monthly; the API needs routing, JSON and static files, not a schema
framework.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from hexbytes import HexBytes
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from scf.contracts import LEDGERS, Role, label
from scf.contracts.voucher import SERIAL_BITS
from scf.errors import ScfError
from scf.indexer import Event, EventIndex
from scf.inspect import parse_address, parse_number, parse_voucher
from scf.money import CURRENCY, DECIMALS, decimal_text
from scf.offers import OfferBoard, OfferRefused, PublishedOffer, Terms
from scf.supervision import (
    SLOT_STATES,
    Book,
    MemberView,
    RecordView,
    SlotView,
    VoucherView,
    describe_event,
    member_label,
    week_label,
)
from scf.vault import Vault, VaultError
from scf.vault.status import member_documents
from scf.vault.store import VAULT_ADDRESS
from scf.watch import RULE_NAMES

log = logging.getLogger("scf.api")

MAX_LIMIT = 500
MAX_OFFER_BYTES = 16_384  # a signed offer is about 600 bytes of JSON
DEFAULT_LIMIT = 50
# The events a history page of each kind lists.
EVENT_KINDS: dict[str, list[tuple[str, str]]] = {
    "funding": [("ReceivableVoucher", "SlotFunded"), ("CreditDesk", "PaidThroughDesk"), ("CreditDesk", "ClaimPaid")],
    "redemption": [
        ("ReceivableVoucher", "VoucherRedeemed"), ("ReceivableVoucher", "VoucherPartlyPaid"),
        ("ReceivableVoucher", "VoucherWrittenOff"),
    ],
    "discount": [("DiscountDesk", "OfferExecuted"), ("DiscountDesk", "RecourseExercised")],
}


class Watcher(Protocol):
    """The risk watch as the service uses it (``scf.watch.Watch``)."""

    def evaluate(self, book: Book) -> list[Any]: ...

    def page(self, rule: str | None, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]: ...


class BadRequest(HTTPException):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class NotFound(HTTPException):
    def __init__(self, message: str) -> None:
        super().__init__(404, message)


# ------------------------------------------------------------------------ the service


class ReadService:
    """The index, the last ``Book`` built from it, and the risk watch, kept current by
    ``refresh`` (called by the background thread of ``running``/``serve``)."""

    def __init__(self, index: EventIndex, watch: Watcher | None = None, offers: OfferBoard | None = None,
                 vault: Vault | None = None) -> None:
        self.index = index
        self.watch = watch
        self.offers = offers
        self.vault = vault
        self.vault_lock = threading.Lock()  # the vault's SQLite connection, shared with the requests
        self.lock = threading.Lock()  # the index's SQLite connection is shared with the requests
        self.book: Book | None = None
        self.refreshed_at = 0.0
        self._prune_failed = False

    def refresh(self) -> int:
        """Indexes new blocks; rebuilds the book, runs the watch and drops the offers the chain
        ended (expired, executed, cancelled) when the chain moved. Returns how many events were
        added."""
        with self.lock:
            before = self.index.last_block
            added = self.index.refresh()
            moved = self.book is None or added or self.index.last_block != before
            if moved:
                book = Book.build(self.index)
                if self.watch is not None:
                    self.watch.evaluate(book)
                self.book = book
            self.refreshed_at = time.time()
        if self.offers is not None and (moved or self._prune_failed):
            self._prune_failed = True  # until this prune has gone through
            self.offers.prune()
            self._prune_failed = False
        return added

    def current(self) -> Book:
        if self.book is None:
            self.refresh()
        assert self.book is not None
        return self.book

    def trail(self, kind: str, key: str | int) -> list[Event]:
        with self.lock:
            return self.index.trail(kind, key)

    def recent(self, kinds: list[tuple[str, str]] | None, offset: int, limit: int) -> tuple[int, list[Event]]:
        with self.lock:
            return self.index.recent(kinds, offset, limit)

    def alerts(self, rule: str | None, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        if self.watch is None:
            return 0, []
        with self.lock:
            return self.watch.page(rule, offset, limit)


# ---------------------------------------------------------------------------- JSON shapes


def _amount(value: int) -> str:
    """Amounts travel as decimal strings of minor units: exact in any JSON reader."""
    return str(value)


def party(book: Book, address: str) -> dict[str, str]:
    return {"address": address, "name": book.name(address)}


def slot_json(book: Book, s: SlotView) -> dict[str, Any]:
    live = [v for v, _ in book.tree(s.slot) if v.live]  # every voucher of a slot descends from its root
    return {
        "slot": s.slot, "debtor": party(book, s.debtor), "creditor": party(book, s.creditor),
        "faceValue": _amount(s.face_value), "funded": _amount(s.funded), "paidOut": _amount(s.paid_out),
        "writtenOff": _amount(s.written_off), "unfunded": _amount(s.unfunded), "maturity": s.maturity,
        "issuedAt": s.issued_at, "status": s.state, "tradeRecordId": s.trade_record_id,
        "vouchers": len(live), "frozen": sum(v.frozen for v in live),
    }


def node_json(book: Book, v: VoucherView, depth: int | None = None) -> dict[str, Any]:
    out = {
        "tokenId": str(v.token_id), "label": v.label, "slot": v.slot,
        "parent": label(v.parent) if v.parent else None, "holder": party(book, v.holder),
        "value": _amount(v.value), "paidOut": _amount(v.paid_out), "status": v.state, "frozen": v.frozen,
    }
    if depth is not None:
        out["depth"] = depth
    return out


def record_json(book: Book, r: RecordView) -> dict[str, Any]:
    return {
        "recordId": r.record_id, "docType": r.doc_type.name.lower().replace("_", " "),
        "registrant": party(book, r.registrant), "counterparty": party(book, r.counterparty),
        "amount": _amount(r.amount), "docHash": r.doc_hash, "parentId": r.parent_id or None,
        "status": r.status.name.lower(), "reserved": _amount(r.reserved),
    }


def offer_json(book: Book, p: PublishedOffer, terms: Terms) -> dict[str, Any]:
    """A published offer with what taking it would do now: the price, the seller's effective
    annual cost (a decimal fraction, 6 places) and, if the desk would refuse it, why."""
    cost = terms.effective_annual_cost(p.offer.value)
    return {
        "digest": HexBytes(p.digest).to_0x_hex(), "voucher": label(p.offer.token_id), **p.to_json(),
        "financier": party(book, p.offer.financier), "seller": party(book, p.offer.seller),
        "publishedAt": p.published_at, "price": _amount(terms.price), "secondsToMaturity": terms.seconds_to_maturity,
        "effectiveAnnualCost": None if cost is None else decimal_text(cost, 6),
        "takeable": terms.refusal is None, "refusal": terms.refusal,
    }


def member_json(book: Book, m: MemberView) -> dict[str, Any]:
    return {
        "address": m.address, "name": m.name, "roles": [n.replace("_", " ") for n in m.roles.names()],
        "status": m.status.name.lower(), "creditLimit": _amount(m.credit_limit),
        "outstanding": _amount(book.outstanding(m.address)), "holdings": _amount(book.holdings(m.address)),
        "since": m.since,
    }


def event_json(book: Book, e: Event) -> dict[str, Any]:
    return {
        "block": e.block, "logIndex": e.log_index, "txHash": e.tx_hash, "timestamp": e.timestamp,
        "actor": party(book, e.actor), "contract": e.contract, "event": e.event,
        "args": {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in e.args.items()},
        "text": describe_event(e, member_label(book)),
    }


# ------------------------------------------------------------------------ parameters


@dataclass(frozen=True)
class Query:
    """A request's query string, checked: unknown parameters are refused (a typo must not
    silently widen a filter), and each value is parsed once with a message naming it."""

    request: Request
    allowed: frozenset[str]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.request.query_params) - self.allowed - {"offset", "limit"})
        if unknown:
            raise BadRequest(
                f"unknown parameter {', '.join(unknown)}: this endpoint takes "
                f"{', '.join(sorted(self.allowed | {'offset', 'limit'}))}"
            )

    def text(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def address(self, name: str) -> str | None:
        value = self.text(name)
        return None if value is None else _parsed(f"{name}=", parse_address, value)

    def integer(self, name: str, *, default: int | None = None, low: int = 0, high: int = 2**63) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            raise BadRequest(f"{name}={value!r} is not a whole number from {low} to {high}")
        return int(value)

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in choices:
            raise BadRequest(f"{name}={value!r} is not one of {', '.join(choices)}")
        return value

    def page(self) -> tuple[int, int]:
        offset = self.integer("offset", default=0)
        limit = self.integer("limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
        assert offset is not None and limit is not None
        return offset, limit


def paged(items: list[Any], offset: int, limit: int, render: Callable[[Any], Any]) -> dict[str, Any]:
    return {"total": len(items), "offset": offset, "limit": limit,
            "items": [render(x) for x in items[offset:offset + limit]]}


# ------------------------------------------------------------------------------ routes


def create_app(service: ReadService, *, web_dir: Path | None = None, bridge_dir: Path | None = None,
               contracts: dict[str, str] | None = None, chain_id: int = 0) -> Starlette:
    """The API under ``/api``; with ``web_dir``, the built web app at ``/``; with
    ``bridge_dir``, the chain's manifests, ABIs and typed data the member page loads
    (``/deployments``, ``/abi``, ``/typed-data``), current even if the app was built before
    the last deployment."""

    def status(request: Request) -> Response:
        Query(request, frozenset())
        book = service.current()
        total, _ = service.alerts(None, 0, 1)
        return JSONResponse({
            "chainId": chain_id, "block": book.block, "blockTime": book.now, "indexedEvents": book.event_count,
            "currency": CURRENCY, "decimals": DECIMALS, "serialBits": SERIAL_BITS,
            "contracts": contracts or {}, "alerts": total, "slotStates": list(SLOT_STATES),
        })

    def slots(request: Request) -> Response:
        q = Query(request, frozenset({"debtor", "holder", "status", "maturityFrom", "maturityTo"}))
        debtor, holder = q.address("debtor"), q.address("holder")
        state = q.choice("status", SLOT_STATES)
        low, high = q.integer("maturityFrom"), q.integer("maturityTo")
        offset, limit = q.page()
        book = service.current()
        held = book.slots_held_by(holder) if holder else None
        chosen = [
            s for s in sorted(book.slots.values(), key=lambda s: (s.maturity, s.slot))
            if (debtor is None or s.debtor == debtor) and (state is None or s.state == state)
            and (held is None or s.slot in held) and (low is None or s.maturity >= low)
            and (high is None or s.maturity <= high)
        ]
        return JSONResponse(paged(chosen, offset, limit, lambda s: slot_json(book, s)))

    def slot(request: Request) -> Response:
        Query(request, frozenset())
        number = _parsed("", parse_number, request.path_params["slot"], "slot")
        book = service.current()
        s = book.slots.get(number)
        if s is None:
            raise NotFound(f"slot {number} does not exist on this ledger")
        return JSONResponse({
            **slot_json(book, s),
            "tree": [node_json(book, v, depth) for v, depth in book.tree(number)],
            "history": [event_json(book, e) for e in service.trail("slot", number)],
            "documents": [record_json(book, r) for r in book.documents(s.trade_record_id)],
        })

    def voucher(request: Request) -> Response:
        Query(request, frozenset())
        text = request.path_params["voucher"]
        token = _parsed("", parse_voucher, text)
        book = service.current()
        v = book.vouchers.get(token)
        if v is None:
            raise NotFound(f"voucher {text} does not exist on this ledger")
        record = book.slots[v.slot].trade_record_id
        return JSONResponse({
            **node_json(book, v),
            "lineage": [label(t) for t in book.lineage(token)],
            "history": [event_json(book, e) for e in service.trail("token", token)],
            "documents": [record_json(book, r) for r in book.documents(record)],
        })

    def members(request: Request) -> Response:
        q = Query(request, frozenset({"role", "status"}))
        role = q.choice("role", tuple(n.lower().replace("_", " ") for n in Role.__members__))
        state = q.choice("status", ("pending", "active", "suspended", "removed"))
        offset, limit = q.page()
        book = service.current()
        chosen = [
            m for m in sorted(book.members.values(), key=lambda m: (m.name.lower(), m.address))
            if (role is None or Role.parse(role) in m.roles)
            and (state is None or m.status.name.lower() == state)
        ]
        return JSONResponse(paged(chosen, offset, limit, lambda m: member_json(book, m)))

    def member(request: Request) -> Response:
        Query(request, frozenset())
        address = _parsed("", parse_address, request.path_params["address"])
        book = service.current()
        m = book.members.get(address)
        if m is None:
            raise NotFound(f"{address} is not a member and never applied")
        return JSONResponse({
            **member_json(book, m),
            "vouchers": [node_json(book, v) for v in book.held_by(address)],
            "history": [event_json(book, e) for e in service.trail("account", address)],
        })

    def documents(request: Request) -> Response:
        Query(request, frozenset())
        number = _parsed("", parse_number, request.path_params["record"], "trade record")
        book = service.current()
        if number not in book.records:
            raise NotFound(f"trade record {number} does not exist")
        return JSONResponse({"trail": [record_json(book, r) for r in book.documents(number)]})

    def exposure(request: Request) -> Response:
        Query(request, frozenset())
        book = service.current()
        debtors = []
        for d in book.debtors():
            mine = [s for s in book.slots.values() if s.debtor == d and s.live]
            m = book.members.get(d)
            debtors.append({
                "debtor": party(book, d), "creditLimit": _amount(m.credit_limit if m else 0),
                "outstanding": _amount(book.outstanding(d)), "faceValue": _amount(sum(s.face_value for s in mine)),
                "funded": _amount(sum(s.funded for s in mine)), "slots": len(mine),
            })
        financiers = []
        for f in book.financiers():
            by_debtor = book.exposure_by_debtor(f)
            financiers.append({
                "financier": party(book, f), "total": _amount(sum(by_debtor.values())),
                "byDebtor": [{"debtor": party(book, d), "value": _amount(v)}
                             for d, v in sorted(by_debtor.items(), key=lambda x: -x[1])],
            })
        return JSONResponse({"debtors": debtors, "financiers": financiers})

    def calendar(request: Request) -> Response:
        Query(request, frozenset())
        weeks = [
            {"weekStart": start, "label": week_label(start), "faceValue": _amount(face), "funded": _amount(funded),
             "unfunded": _amount(face - funded), "slots": n}
            for start, face, funded, n in service.current().calendar()
        ]
        return JSONResponse({"weeks": weeks})

    def events(request: Request) -> Response:
        q = Query(request, frozenset({"kind"}))
        kind = q.choice("kind", (*EVENT_KINDS, "all")) or "all"
        offset, limit = q.page()
        book = service.current()
        total, rows = service.recent(EVENT_KINDS.get(kind), offset, limit)
        return JSONResponse({"total": total, "offset": offset, "limit": limit,
                             "items": [event_json(book, e) for e in rows]})

    def alerts(request: Request) -> Response:
        q = Query(request, frozenset({"rule"}))
        rule = q.choice("rule", RULE_NAMES)
        offset, limit = q.page()
        service.current()
        total, rows = service.alerts(rule, offset, limit)
        return JSONResponse({"total": total, "offset": offset, "limit": limit, "items": rows})

    def board() -> OfferBoard:
        if service.offers is None:
            raise NotFound("this service keeps no offer board")
        return service.offers

    def list_offers(request: Request) -> Response:
        q = Query(request, frozenset({"seller", "financier", "voucher"}))
        voucher = q.text("voucher")
        token = None if voucher is None else _parsed("voucher=", parse_voucher, voucher)
        offset, limit = q.page()
        book = service.current()
        offers = board().live(seller=q.address("seller"), financier=q.address("financier"), token=token)
        shown = offers[offset:offset + limit]
        terms = board().terms([(p.offer, p.signature) for p in shown])
        return JSONResponse({"total": len(offers), "offset": offset, "limit": limit,
                             "items": [offer_json(book, p, t) for p, t in zip(shown, terms, strict=True)]})

    async def offers(request: Request) -> Response:
        if request.method == "GET":
            return await run_in_threadpool(list_offers, request)
        if request.query_params:
            raise BadRequest("publishing an offer takes no query parameters")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise HTTPException(415, "send the signed offer as application/json")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_OFFER_BYTES):
            raise HTTPException(413, f"an offer is at most {MAX_OFFER_BYTES:,} bytes")
        # Read in chunks and stop at the limit: a body sent without a length (chunked) must not
        # be taken in whole before it is measured.
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_OFFER_BYTES:
                raise HTTPException(413, f"an offer is at most {MAX_OFFER_BYTES:,} bytes")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise BadRequest(f"the body is not JSON: {exc}") from None
        try:
            published, new, terms = await run_in_threadpool(board().publish, payload)
        except OfferRefused as exc:
            raise BadRequest(f"offer refused: {exc}") from None
        return JSONResponse(offer_json(service.current(), published, terms), status_code=201 if new else 200)

    async def error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    def the_vault() -> Vault:
        if service.vault is None:
            raise NotFound("this service keeps no document vault")
        return service.vault

    def vault_documents(request: Request) -> Response:
        """What the vault holds for a member: each document it put or may read, whether its
        file is there and a key is wrapped for it, with whom it is shared, who verified it.
        Contents, names and salts stay sealed; what this shows beyond the chain is who was shown
        which document and who verified it, as the vault's signed records say."""
        q = Query(request, frozenset({"member"}))
        member = q.address("member")
        if member is None:
            raise BadRequest("member= is required: the documents of which member")
        book = service.current()
        with service.vault_lock:
            try:
                statuses = member_documents(the_vault(), member)
            except VaultError as exc:  # the folder was edited by hand: say what is wrong, not a bare 500
                raise HTTPException(500, f"the document vault cannot be read: {exc}") from None

        def shown(status: dict[str, Any]) -> dict[str, Any]:
            return status | {
                "ownerName": book.name(status["owner"]),
                "readers": [r | {"readerName": book.name(r["reader"]), "byName": book.name(r["by"])}
                            for r in status["readers"]],
                "verified": [v | {"byName": book.name(v["by"])} for v in status["verified"]],
            }

        return JSONResponse({"member": member, "items": [shown(s.as_json()) for s in statuses]})

    def vault_blob(request: Request) -> Response:
        """A sealed document's envelope, by its SHA-256: ciphertext only."""
        address = request.path_params["address"]
        if not VAULT_ADDRESS.fullmatch(address):
            raise BadRequest(f"{address!r} is not a vault address (64 lowercase hex digits, the SHA-256 of the file)")
        with service.vault_lock:
            try:
                data = the_vault().read_blob(address)
            except VaultError as exc:
                raise NotFound(f"the vault has no file {address} that it can serve: {exc}") from None
        if data is None:
            raise NotFound(f"the vault has no file {address}")
        return Response(data, media_type="application/octet-stream")

    api = [
        Route("/api/vault/documents", vault_documents), Route("/api/vault/blobs/{address}", vault_blob),
        Route("/api/status", status), Route("/api/slots", slots), Route("/api/slots/{slot}", slot),
        Route("/api/vouchers/{voucher}", voucher), Route("/api/members", members),
        Route("/api/members/{address}", member), Route("/api/documents/{record}", documents),
        Route("/api/exposure", exposure), Route("/api/calendar", calendar), Route("/api/events", events),
        Route("/api/alerts", alerts), Route("/api/offers", offers, methods=["GET", "POST"]),
    ]
    routes: list[Route | Mount] = list(api)
    if bridge_dir is not None:
        for folder in ("deployments", "abi", "typed-data"):
            if (bridge_dir / folder).is_dir():
                routes.append(Mount(f"/{folder}", StaticFiles(directory=str(bridge_dir / folder))))
    if web_dir is not None:
        routes.append(Mount("/", StaticFiles(directory=str(web_dir), html=True), name="web"))
    return Starlette(routes=routes, exception_handlers={HTTPException: error})


def _parsed(prefix: str, parse: Callable[..., Any], *args: Any) -> Any:
    """``parse(*args)`` (one of the inspector's parsers), its refusal a 400 with the same words."""
    try:
        return parse(*args)
    except ScfError as exc:
        raise BadRequest(f"{prefix}{exc}") from None


def contract_addresses(index: EventIndex) -> dict[str, str]:
    return {name: index.deployment.address(name) for name in LEDGERS if name in index.deployment.contracts}


# --------------------------------------------------------------------------- running


class _Refresher(threading.Thread):
    """Refreshes the service every ``interval`` seconds until stopped; a failed refresh (the
    node restarting, say) is logged and retried, never fatal."""

    def __init__(self, service: ReadService, interval: float) -> None:
        super().__init__(name="scf-index-refresh", daemon=True)
        self.service, self.interval = service, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.service.refresh()
            except Exception as exc:  # a reader must outlive a node's hiccup
                log.warning("index refresh failed, retrying: %s", exc)


@contextlib.contextmanager
def running(service: ReadService, app: Starlette, *, host: str = "127.0.0.1", port: int = 0,
            interval: float = 1.0) -> Iterator[str]:
    """Serves ``app`` in a background thread (and refreshes ``service`` every ``interval``
    seconds) until the block ends; yields the base URL."""
    service.refresh()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="scf-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ScfError(f"the read API did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    refresher = _Refresher(service, interval)
    refresher.start()
    try:
        yield f"http://{host}:{bound}"
    finally:
        refresher.stopped.set()
        server.should_exit = True
        thread.join(timeout=10)
        refresher.join(timeout=10)
