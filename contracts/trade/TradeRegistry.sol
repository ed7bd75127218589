// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {ITradeRegistry} from "../interfaces/ITradeRegistry.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title TradeRegistry
/// @notice Anchors the information flow of a trade: contracts, orders, delivery notes,
///         receipts and invoices, as hashes registered by one side and confirmed by the other.
///         Records link to a parent, so a trail (order -> delivery -> receipt -> invoice) can be
///         walked. The voucher ledger reserves an invoice's amount when a voucher is issued
///         against it, so no invoice backs more than its amount (no double financing).
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

    struct Record {
        address registrant;
        DocType docType;
        RecordStatus status;
        uint40 registeredAt;
        uint40 decidedAt;
        address counterparty;
        uint64 parentId;
        uint128 amount;
        uint128 reserved;
        bytes32 docHash;
    }

    /// @notice Core enterprises and suppliers trade; financiers and auditors do not anchor documents.
    uint8 public constant TRADING_ROLES = 1 | 2;

    mapping(uint256 recordId => Record) private _records;
    mapping(bytes32 docHash => uint256 recordId) private _recordByHash;
    mapping(address ledger => bool) private _ledgers;
    uint64 private _lastRecordId;
    bool private _paused;

    event DocumentRegistered(
        uint256 indexed recordId,
        address indexed registrant,
        address indexed counterparty,
        DocType docType,
        bytes32 docHash,
        uint256 amount,
        uint256 parentId
    );
    event DocumentConfirmed(uint256 indexed recordId, address indexed counterparty);
    event DocumentRejected(uint256 indexed recordId, address indexed counterparty);
    event AmountReserved(uint256 indexed recordId, address indexed ledger, uint256 amount, uint256 reservedTotal);
    event AmountReleased(uint256 indexed recordId, address indexed ledger, uint256 amount, uint256 reservedTotal);
    event LedgerAuthorised(address indexed ledger, bool authorised, address indexed operator);

    error NotActiveMember(address account);
    error NotTradingParty(address account);
    error ParentRejected(uint256 parentId);
    error RegistryPaused();
    error ZeroAddress();
    error ZeroAmount();
    error AmountTooLarge(uint256 amount);
    error EmptyDocumentHash();
    error SelfCounterparty(address account);
    error DuplicateDocument(bytes32 docHash, uint256 existingRecordId);
    error UnknownRecord(uint256 recordId);
    error ParentPartiesMismatch(uint256 parentId);
    error NotCounterparty(uint256 recordId, address caller);
    error RecordNotPending(uint256 recordId, RecordStatus status);
    error NotAuthorisedLedger(address caller);
    error NotAnInvoice(uint256 recordId, DocType docType);
    error InvoiceNotConfirmed(uint256 recordId, RecordStatus status);
    error InvoicePartiesMismatch(uint256 recordId, address creditor, address debtor);
    error InsufficientInvoiceAmount(uint256 recordId, uint256 available, uint256 needed);
    error ReleaseExceedsReserved(uint256 recordId, uint256 reserved, uint256 released);

    constructor(IConsortiumRegistry registry_) ConsortiumGuarded(registry_) {}

    modifier whenNotPaused() {
        if (_paused) revert RegistryPaused();
        _;
    }

    /// @notice Anchors a trade document. The caller and the counterparty must both be active
    ///         members; the hash is unique across the registry; `parentRecordId` is 0 or an
    ///         existing record between the same two parties.
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
        if (amount > type(uint128).max) revert AmountTooLarge(amount);
        (uint8 rolesSender, uint8 rolesCounterparty) = registry.rolesIfActivePair(msg.sender, counterparty);
        if (rolesSender == 0) revert NotActiveMember(msg.sender);
        if (rolesCounterparty == 0) revert NotActiveMember(counterparty);
        if (rolesSender & TRADING_ROLES == 0) revert NotTradingParty(msg.sender);
        if (rolesCounterparty & TRADING_ROLES == 0) revert NotTradingParty(counterparty);
        uint256 existing = _recordByHash[docHash];
        if (existing != 0) revert DuplicateDocument(docHash, existing);
        if (parentRecordId != 0) {
            Record storage parent = _records[parentRecordId];
            if (parent.status == RecordStatus.None) revert UnknownRecord(parentRecordId);
            if (parent.status == RecordStatus.Rejected) revert ParentRejected(parentRecordId);
            if (!_sameParties(parent, msg.sender, counterparty)) revert ParentPartiesMismatch(parentRecordId);
        }

        recordId = ++_lastRecordId;
        _records[recordId] = Record({
            registrant: msg.sender,
            docType: docType,
            status: RecordStatus.Registered,
            registeredAt: uint40(block.timestamp),
            decidedAt: 0,
            counterparty: counterparty,
            parentId: uint64(parentRecordId),
            amount: uint128(amount),
            reserved: 0,
            docHash: docHash
        });
        _recordByHash[docHash] = recordId;
        emit DocumentRegistered(recordId, msg.sender, counterparty, docType, docHash, amount, parentRecordId);
    }

    /// @notice The counterparty confirms a registered document (cross-confirmation).
    function confirm(uint256 recordId) external whenNotPaused {
        Record storage r = _pendingForCounterparty(recordId);
        r.status = RecordStatus.Confirmed;
        r.decidedAt = uint40(block.timestamp);
        emit DocumentConfirmed(recordId, msg.sender);
    }

    /// @notice The counterparty rejects a registered document; it can never back a voucher.
    function reject(uint256 recordId) external whenNotPaused {
        Record storage r = _pendingForCounterparty(recordId);
        r.status = RecordStatus.Rejected;
        r.decidedAt = uint40(block.timestamp);
        emit DocumentRejected(recordId, msg.sender);
    }

    /// @inheritdoc ITradeRegistry
    /// @dev Only an authorised ledger. The record must be a confirmed invoice between exactly
    ///      these two parties, and the amount must fit in what is not yet reserved.
    function reserve(uint256 recordId, address creditor, address debtor, uint256 amount) external {
        if (!_ledgers[msg.sender]) revert NotAuthorisedLedger(msg.sender);
        if (amount == 0) revert ZeroAmount();
        Record storage r = _records[recordId];
        if (r.status == RecordStatus.None) revert UnknownRecord(recordId);
        if (r.docType != DocType.Invoice) revert NotAnInvoice(recordId, r.docType);
        if (r.status != RecordStatus.Confirmed) revert InvoiceNotConfirmed(recordId, r.status);
        if (!_sameParties(r, creditor, debtor)) revert InvoicePartiesMismatch(recordId, creditor, debtor);
        uint256 available = r.amount - r.reserved;
        if (amount > available) revert InsufficientInvoiceAmount(recordId, available, amount);
        // Cannot overflow: amount <= available = r.amount - r.reserved, so the sum <= r.amount.
        uint128 reserved = r.reserved + uint128(amount);
        r.reserved = reserved;
        emit AmountReserved(recordId, msg.sender, amount, reserved);
    }

    /// @inheritdoc ITradeRegistry
    function release(uint256 recordId, uint256 amount) external {
        if (!_ledgers[msg.sender]) revert NotAuthorisedLedger(msg.sender);
        Record storage r = _records[recordId];
        if (r.status == RecordStatus.None) revert UnknownRecord(recordId);
        if (amount > r.reserved) revert ReleaseExceedsReserved(recordId, r.reserved, amount);
        // Cannot underflow: checked just above.
        uint128 reserved = r.reserved - uint128(amount);
        r.reserved = reserved;
        emit AmountReleased(recordId, msg.sender, amount, reserved);
    }

    /// @notice An operator authorises (or de-authorises) a voucher ledger to reserve invoices.
    function setLedger(address ledger, bool authorised) external onlyOperator {
        if (ledger == address(0)) revert ZeroAddress();
        _ledgers[ledger] = authorised;
        emit LedgerAuthorised(ledger, authorised, msg.sender);
    }

    /// @notice The record `recordId` (status None if unknown).
    function recordOf(uint256 recordId) external view returns (Record memory) {
        return _records[recordId];
    }

    /// @notice The record anchoring `docHash`, or 0.
    function recordIdOf(bytes32 docHash) external view returns (uint256) {
        return _recordByHash[docHash];
    }

    /// @notice Amount of an invoice not yet reserved by vouchers.
    function availableAmount(uint256 recordId) external view returns (uint256) {
        Record storage r = _records[recordId];
        return r.amount - r.reserved;
    }

    /// @notice Whether `ledger` may reserve invoice amounts.
    function isLedger(address ledger) external view returns (bool) {
        return _ledgers[ledger];
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

    function _sameParties(Record storage r, address a, address b) private view returns (bool) {
        return (r.registrant == a && r.counterparty == b) || (r.registrant == b && r.counterparty == a);
    }
}
