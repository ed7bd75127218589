// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {ITradeRegistry} from "../interfaces/ITradeRegistry.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";
import {Amounts} from "../common/Amounts.sol";
import {Roles} from "../common/Roles.sol";
import {NotActiveMember, ZeroAddress, ZeroAmount} from "../common/ConsortiumErrors.sol";

/// @title TradeRegistry
/// @notice Anchors the information flow of a trade: contracts, orders, delivery notes,
///         receipts and invoices, as hashes registered by one side and confirmed by the other.
///         Records link to a parent, so a trail (order -> delivery -> receipt -> invoice) can be
///         walked. The voucher ledger reserves an invoice's amount when a voucher is issued
///         against it, so no invoice backs more than its amount (no double financing).
/// @dev A document hash is unique per pair of parties: an outsider anchoring another deal's
///      hash blocks nothing for the real parties, and a rejected record frees its hash. An
///      invoice is registered by its seller (the voucher's creditor) and confirmed by its buyer
///      (the debtor). Reservations belong to the ledger that made them: only it releases them.
///      A record keeps on chain what the checks read (parties, type, status, amounts, parent),
///      in two storage words; the document hash and the times are in the events
///      (`DocumentRegistered`, `DocumentConfirmed`, `DocumentRejected`) for the indexer.
contract TradeRegistry is ITradeRegistry, ConsortiumGuarded {
    enum DocType {
        Contract,
        Order,
        Invoice,
        DeliveryNote,
        Receipt,
        Other
    }

    enum RecordStatus {
        None,
        Registered,
        Confirmed,
        Rejected
    }

    /// @dev Word 0: registrant, type, status, reserved amount, ledger holding the reservations
    ///      (written by `confirm`, `reject`, `reserve`, `release`); word 1: counterparty, amount,
    ///      parent (written once, by `register`).
    struct Record {
        address registrant;
        DocType docType;
        RecordStatus status;
        uint56 reserved;
        uint24 ledgerId;
        address counterparty;
        uint56 amount;
        uint40 parentId;
    }

    /// @notice Core enterprises and suppliers trade; financiers and auditors do not anchor documents.
    uint8 public constant TRADING_ROLES = Roles.TRADING;
    /// @notice Largest amount of a record, in minor units: the voucher's MAX_VALUE.
    uint256 public constant MAX_AMOUNT = Amounts.MAX;

    /// @dev `id` is given on first authorisation and kept: a record's reservations name it.
    struct Ledger {
        uint24 id;
        bool authorised;
    }

    mapping(uint256 recordId => Record) private _records;
    /// @dev The latest record anchoring a hash between two parties; a rejected one no longer
    ///      counts (`register` may anchor the hash again, `recordIdOf` answers 0).
    mapping(bytes32 partiesAndHash => uint256 recordId) private _recordByHash;
    mapping(address ledger => Ledger) private _ledgers;
    uint40 private _lastRecordId;
    uint24 private _lastLedgerId;
    bool private _paused;

    /// @notice Emitted by `register`: `registrant` (the caller) anchored a document with
    ///         `counterparty`.
    /// @param parentId the record it links to, 0 for none.
    event DocumentRegistered(
        uint256 indexed recordId,
        address indexed registrant,
        address indexed counterparty,
        DocType docType,
        bytes32 docHash,
        uint256 amount,
        uint256 parentId
    );
    /// @notice Emitted by `confirm`: the record's counterparty (the caller) confirmed it.
    event DocumentConfirmed(uint256 indexed recordId, address indexed counterparty);
    /// @notice Emitted by `reject`: the record's counterparty (the caller) rejected it; its hash
    ///         is free again for the two parties.
    event DocumentRejected(uint256 indexed recordId, address indexed counterparty);
    /// @notice Emitted by `reserve`: an authorised ledger reserved `amount` of an invoice for a
    ///         voucher (ReceivableVoucher `issue`).
    /// @param reservedTotal what the record has reserved after this reservation.
    event AmountReserved(uint256 indexed recordId, address indexed ledger, uint256 amount, uint256 reservedTotal);
    /// @notice Emitted by `release`: the ledger that reserved part of an invoice released
    ///         `amount` of it (ReceivableVoucher `cancel`).
    /// @param reservedTotal what the record has reserved after this release.
    event AmountReleased(uint256 indexed recordId, address indexed ledger, uint256 amount, uint256 reservedTotal);
    /// @notice Emitted by `setLedger`: governance authorised or de-authorised a ledger.
    /// @param operator the governance account that called (not necessarily an operator).
    event LedgerAuthorised(address indexed ledger, bool authorised, address indexed operator);

    /// @notice An active member with neither the core-enterprise nor the supplier role:
    ///         `register` by such a caller or naming such a counterparty; `confirm` or `reject`
    ///         by such a caller.
    error NotTradingParty(address account);
    /// @notice `register` with a parent record that its counterparty rejected.
    error ParentRejected(uint256 parentId);
    /// @notice `register`, `confirm`, `reject`, `reserve` or `release` while the registry is
    ///         paused.
    error RegistryPaused();
    /// @notice `register` of an amount above MAX_AMOUNT.
    error AmountTooLarge(uint256 amount);
    /// @notice `register` of a zero document hash.
    error EmptyDocumentHash();
    /// @notice `register` naming the caller as its own counterparty.
    error SelfCounterparty(address account);
    /// @notice `register` of a hash that the same two parties (either side registering)
    ///         already anchored and that was not rejected.
    error DuplicateDocument(bytes32 docHash, uint256 existingRecordId);
    /// @notice No record has this id: the nonzero parent named in `register`, or the record
    ///         of `confirm`, `reject`, `reserve` or `release`.
    error UnknownRecord(uint256 recordId);
    /// @notice `register` with a parent record between other parties than the caller and the
    ///         counterparty (in either role).
    error ParentPartiesMismatch(uint256 parentId);
    /// @notice `confirm` or `reject` by anyone but the record's counterparty.
    error NotCounterparty(uint256 recordId, address caller);
    /// @notice `confirm` or `reject` of a record already confirmed or rejected.
    error RecordNotPending(uint256 recordId, RecordStatus status);
    /// @notice `reserve` by a caller that is not an authorised ledger now, or `release` by one
    ///         that was never authorised (a de-authorised ledger still releases its own).
    error NotAuthorisedLedger(address caller);
    /// @notice `reserve` of a record that is not an invoice.
    error NotAnInvoice(uint256 recordId, DocType docType);
    /// @notice `reserve` of an invoice that is not confirmed (still registered, or rejected).
    error InvoiceNotConfirmed(uint256 recordId, RecordStatus status);
    /// @notice `reserve` for a `creditor` that is not the invoice's seller (its registrant) or
    ///         a `debtor` that is not its buyer (its counterparty), also when the two are the
    ///         invoice's parties the other way round.
    error InvoicePartiesMismatch(uint256 recordId, address creditor, address debtor);
    /// @notice `reserve` of more than the invoice's unreserved amount.
    /// @param available the invoice's amount minus what is reserved.
    error InsufficientInvoiceAmount(uint256 recordId, uint256 available, uint256 needed);
    /// @notice `release` of more than the calling ledger has reserved on the record (nothing,
    ///         when another ledger holds its reservations).
    error ReleaseExceedsReserved(uint256 recordId, uint256 reserved, uint256 released);
    /// @notice `reserve` of an invoice on which another ledger holds reservations.
    error ReservedByAnotherLedger(uint256 recordId, address caller);

    constructor(IConsortiumRegistry registry_) ConsortiumGuarded(registry_) {}

    modifier whenNotPaused() {
        if (_paused) revert RegistryPaused();
        _;
    }

    /// @notice Anchors a trade document. The caller and the counterparty must both be active
    ///         trading members; the hash is unique for the two parties (until rejected);
    ///         `parentRecordId` is 0 or a record, not rejected, between the same two parties.
    ///         An invoice is registered by its seller, the counterparty being its buyer.
    /// @return recordId the new record's id (sequential from 1).
    function register(DocType docType, bytes32 docHash, address counterparty, uint256 amount, uint256 parentRecordId)
        external
        whenNotPaused
        returns (uint256 recordId)
    {
        if (counterparty == address(0)) revert ZeroAddress();
        if (counterparty == msg.sender) revert SelfCounterparty(msg.sender);
        if (docHash == bytes32(0)) revert EmptyDocumentHash();
        if (amount == 0) revert ZeroAmount();
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount);
        (uint8 rolesSender, uint8 rolesCounterparty) = registry.rolesIfActivePair(msg.sender, counterparty);
        if (rolesSender == 0) revert NotActiveMember(msg.sender);
        if (rolesCounterparty == 0) revert NotActiveMember(counterparty);
        if (rolesSender & TRADING_ROLES == 0) revert NotTradingParty(msg.sender);
        if (rolesCounterparty & TRADING_ROLES == 0) revert NotTradingParty(counterparty);
        bytes32 key = _hashKey(docHash, msg.sender, counterparty);
        uint256 existing = _recordByHash[key];
        if (existing != 0 && _records[existing].status != RecordStatus.Rejected) {
            revert DuplicateDocument(docHash, existing);
        }
        if (parentRecordId != 0) {
            Record storage parent = _records[parentRecordId];
            if (parent.status == RecordStatus.None) revert UnknownRecord(parentRecordId);
            if (parent.status == RecordStatus.Rejected) revert ParentRejected(parentRecordId);
            if (!_sameParties(parent, msg.sender, counterparty)) revert ParentPartiesMismatch(parentRecordId);
        }

        recordId = ++_lastRecordId;
        // The casts keep every value: amount <= MAX_AMOUNT (checked above); a nonzero parent is an
        // existing record, so at most _lastRecordId, a uint40.
        _records[recordId] = Record({
            registrant: msg.sender,
            docType: docType,
            status: RecordStatus.Registered,
            reserved: 0,
            ledgerId: 0,
            counterparty: counterparty,
            amount: uint56(amount),
            parentId: uint40(parentRecordId)
        });
        _recordByHash[key] = recordId;
        emit DocumentRegistered(recordId, msg.sender, counterparty, docType, docHash, amount, parentRecordId);
    }

    /// @notice The counterparty confirms a registered document (cross-confirmation).
    function confirm(uint256 recordId) external whenNotPaused {
        Record storage r = _pendingForCounterparty(recordId);
        r.status = RecordStatus.Confirmed;
        emit DocumentConfirmed(recordId, msg.sender);
    }

    /// @notice The counterparty rejects a registered document; it can never back a voucher,
    ///         and its hash is free again for the two parties (`register` checks the status of
    ///         the record a hash points to).
    function reject(uint256 recordId) external whenNotPaused {
        Record storage r = _pendingForCounterparty(recordId);
        r.status = RecordStatus.Rejected;
        emit DocumentRejected(recordId, msg.sender);
    }

    /// @inheritdoc ITradeRegistry
    /// @dev Only an authorised ledger, while not paused. The record must be a confirmed invoice
    ///      whose seller (registrant) is `creditor` and whose buyer (counterparty) is `debtor`,
    ///      not reserved by another ledger, and the amount must fit in what is not yet reserved.
    function reserve(uint256 recordId, address creditor, address debtor, uint256 amount) external whenNotPaused {
        Ledger memory ledger = _ledgers[msg.sender];
        if (!ledger.authorised) revert NotAuthorisedLedger(msg.sender);
        if (amount == 0) revert ZeroAmount();
        Record storage r = _records[recordId];
        if (r.status == RecordStatus.None) revert UnknownRecord(recordId);
        if (r.docType != DocType.Invoice) revert NotAnInvoice(recordId, r.docType);
        if (r.status != RecordStatus.Confirmed) revert InvoiceNotConfirmed(recordId, r.status);
        if (r.registrant != creditor || r.counterparty != debtor) {
            revert InvoicePartiesMismatch(recordId, creditor, debtor);
        }
        uint24 owner = r.ledgerId;
        if (owner == 0) r.ledgerId = ledger.id;
        else if (owner != ledger.id) revert ReservedByAnotherLedger(recordId, msg.sender);
        uint256 available = r.amount - r.reserved;
        if (amount > available) revert InsufficientInvoiceAmount(recordId, available, amount);
        // Cannot overflow: amount <= available = r.amount - r.reserved, so the sum <= r.amount.
        uint56 reserved = r.reserved + uint56(amount);
        r.reserved = reserved;
        emit AmountReserved(recordId, msg.sender, amount, reserved);
    }

    /// @inheritdoc ITradeRegistry
    /// @dev Only the ledger that made the reservations, while not paused; also after governance
    ///      de-authorised it, so that its debtors can still cancel what was never accepted.
    ///      When nothing stays reserved the record is free for any ledger again.
    function release(uint256 recordId, uint256 amount) external whenNotPaused {
        Ledger memory ledger = _ledgers[msg.sender];
        if (ledger.id == 0) revert NotAuthorisedLedger(msg.sender);
        Record storage r = _records[recordId];
        if (r.status == RecordStatus.None) revert UnknownRecord(recordId);
        uint256 mine = r.ledgerId == ledger.id ? r.reserved : 0;
        if (amount > mine) revert ReleaseExceedsReserved(recordId, mine, amount);
        // Cannot underflow: checked just above.
        uint56 reserved = r.reserved - uint56(amount);
        r.reserved = reserved;
        if (reserved == 0) r.ledgerId = 0;
        emit AmountReleased(recordId, msg.sender, amount, reserved);
    }

    /// @notice Governance authorises (or de-authorises) a voucher ledger to reserve invoices.
    ///         A ledger keeps its id across de-authorisation, so its reservations stay its own.
    function setLedger(address ledger, bool authorised) external onlyGovernance {
        if (ledger == address(0)) revert ZeroAddress();
        Ledger storage l = _ledgers[ledger];
        if (l.id == 0) l.id = ++_lastLedgerId;
        l.authorised = authorised;
        emit LedgerAuthorised(ledger, authorised, msg.sender);
    }

    /// @notice The record `recordId` (status None if unknown).
    function recordOf(uint256 recordId) external view returns (Record memory) {
        return _records[recordId];
    }

    /// @notice The record anchoring `docHash` between `partyA` and `partyB` (either order), or 0
    ///         (none, or the last one was rejected).
    function recordIdOf(bytes32 docHash, address partyA, address partyB) external view returns (uint256 recordId) {
        recordId = _recordByHash[_hashKey(docHash, partyA, partyB)];
        if (recordId != 0 && _records[recordId].status == RecordStatus.Rejected) recordId = 0;
    }

    /// @notice Amount of an invoice not yet reserved by vouchers.
    function availableAmount(uint256 recordId) external view returns (uint256) {
        Record storage r = _records[recordId];
        return r.amount - r.reserved;
    }

    /// @notice Whether `ledger` may reserve invoice amounts.
    function isLedger(address ledger) external view returns (bool) {
        return _ledgers[ledger].authorised;
    }

    /// @notice The ledger id given to `ledger` (0 if never authorised); a record's `ledgerId`
    ///         names the ledger holding its reservations.
    function ledgerIdOf(address ledger) external view returns (uint256) {
        return _ledgers[ledger].id;
    }

    /// @notice Number of records registered so far (the last id).
    function recordCount() external view returns (uint256) {
        return _lastRecordId;
    }

    function _pausedFlag() internal view override returns (bool) {
        return _paused;
    }

    function _setPausedFlag(bool value) internal override {
        _paused = value;
    }

    function _pendingForCounterparty(uint256 recordId) private view returns (Record storage r) {
        r = _records[recordId];
        if (r.status == RecordStatus.None) revert UnknownRecord(recordId);
        if (r.counterparty != msg.sender) revert NotCounterparty(recordId, msg.sender);
        if (r.status != RecordStatus.Registered) revert RecordNotPending(recordId, r.status);
        uint8 roles = registry.rolesIfActive(msg.sender);
        if (roles == 0) revert NotActiveMember(msg.sender);
        if (roles & TRADING_ROLES == 0) revert NotTradingParty(msg.sender);
    }

    function _hashKey(bytes32 docHash, address a, address b) private pure returns (bytes32) {
        (address low, address high) = a < b ? (a, b) : (b, a);
        return keccak256(abi.encode(docHash, low, high));
    }

    function _sameParties(Record storage r, address a, address b) private view returns (bool) {
        return (r.registrant == a && r.counterparty == b) || (r.registrant == b && r.counterparty == a);
    }
}
