// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC3525, IERC3525Metadata, IERC3525Receiver} from "../interfaces/IERC3525.sol";
import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {ITradeRegistry} from "../interfaces/ITradeRegistry.sol";
import {IVoucherDescriptor} from "../interfaces/IVoucherDescriptor.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title ReceivableVoucher
/// @notice The ledger of digital claim vouchers: an ERC-3525 semi-fungible token whose slot is
///         one issuance (a core enterprise's debt to a supplier, due at maturity) and whose value
///         is an amount of that claim in settlement minor units. Holders split, transfer, merge
///         and discount it up the supply chain; at maturity the debtor funds the slot and every
///         holder is redeemed in settlement tokens.
/// @dev Token ids encode their slot: `tokenId = slot << 32 | serial`, serial 1 being the root
///      voucher minted on acceptance. A voucher is one storage word (holder, value, parent serial,
///      frozen flag), so a split-transfer writes one new word. Every movement of value passes
///      `_checkMovable`, where pause, freeze, maturity and membership rules live once.
///      Invariant per slot: sum of live voucher values + redeemed == face value (once accepted).
contract ReceivableVoucher is
    IERC165,
    IERC721,
    IERC721Metadata,
    IERC3525,
    IERC3525Metadata,
    ReentrancyGuardTransient,
    ConsortiumGuarded
{
    using SafeERC20 for IERC20;

    uint8 public constant ROLE_CORE_ENTERPRISE = 1;
    /// @notice Largest face value of an issuance, in minor units (about 7.2e14 currency units).
    uint256 public constant MAX_VALUE = type(uint56).max;
    /// @notice The longest tenor governance may ever allow.
    uint256 public constant MAX_TENOR_CAP = 365 days;
    uint256 private constant SERIAL_BITS = 32;
    uint256 private constant SERIAL_MASK = (1 << SERIAL_BITS) - 1;

    enum SlotStatus {
        None,
        Issued,
        Accepted,
        Cancelled,
        Settled
    }

    /// @dev Word 0 is read by every movement; word 1 holds the money; word 2 the provenance.
    struct Slot {
        address debtor;
        uint40 maturity;
        SlotStatus status;
        uint32 lastSerial;
        uint64 faceValue;
        uint64 funded;
        uint64 redeemed;
        uint40 issuedAt;
        address creditor;
        uint64 tradeRecordId;
        uint32 overdueAt;
    }

    /// @dev One storage word per voucher. `flags`: FROZEN, VALUE_APPROVED (some value
    ///      allowance was granted under the current approval epoch).
    struct Token {
        address owner;
        uint56 value;
        uint32 parentSerial;
        uint8 flags;
    }

    uint8 private constant FROZEN = 1;
    uint8 private constant VALUE_APPROVED = 2;

    IERC20 public immutable settlementToken;
    ITradeRegistry public immutable tradeRegistry;
    uint8 private immutable _valueDecimals;

    // Configuration, packed in one word read once per transaction.
    address private _discountDesk;
    bool private _paused;
    uint32 private _maxTenor;
    uint32 private _gracePeriod;

    IVoucherDescriptor private _descriptor;
    uint64 private _lastSlot;

    mapping(uint256 slot => Slot) private _slots;
    mapping(uint256 tokenId => Token) private _tokens;
    mapping(address owner => uint256) private _balances;
    mapping(uint256 tokenId => address) private _tokenApprovals;
    mapping(address owner => mapping(address operator => bool)) private _operatorApprovals;
    /// @dev Value allowances live under an approval epoch per voucher; a whole transfer of a
    ///      voucher that has any moves it to a new epoch, so none survives a change of holder
    ///      (not even when the voucher later comes back).
    mapping(uint256 tokenId => mapping(uint256 epoch => mapping(address operator => uint256))) private _valueAllowances;
    mapping(uint256 tokenId => uint256) private _approvalEpoch;
    mapping(address debtor => uint256) private _outstanding;
    mapping(uint256 tokenId => bytes32) private _freezeReasons;

    event VoucherIssued(
        uint256 indexed slot,
        address indexed debtor,
        address indexed creditor,
        uint256 faceValue,
        uint256 maturity,
        uint256 tradeRecordId
    );
    event VoucherAccepted(uint256 indexed slot, uint256 indexed tokenId, address indexed creditor);
    event VoucherCancelled(uint256 indexed slot, address indexed debtor);
    event SlotFunded(uint256 indexed slot, address indexed debtor, uint256 amount, uint256 funded, uint256 faceValue);
    event SlotOverdue(uint256 indexed slot, address indexed debtor, uint256 unfunded, address indexed reporter);
    event SlotSettled(uint256 indexed slot, address indexed debtor, bool wasOverdue);
    event VoucherRedeemed(uint256 indexed tokenId, uint256 indexed slot, address indexed holder, uint256 value);
    event FreezeApplied(uint256 indexed tokenId, bytes32 reasonHash, address indexed operator);
    event FreezeLifted(uint256 indexed tokenId, address indexed operator);
    event MaxTenorSet(uint256 from, uint256 to);
    event GracePeriodSet(uint256 from, uint256 to);
    event DiscountDeskSet(address indexed from, address indexed to);
    event DescriptorSet(address indexed from, address indexed to);

    error NotGovernance(address account);
    error NotDiscountDesk(address account);
    error SystemPaused();
    error ZeroAddress();
    error ZeroAmount();
    error ValueTooLarge(uint256 value, uint256 max);
    error NotActiveMember(address account);
    error NotCoreEnterprise(address account);
    error SelfIssuance(address account);
    error MaturityNotInFuture(uint256 maturity, uint256 now_);
    error MaturityBeyondTenor(uint256 maturity, uint256 latest);
    error TenorOutOfRange(uint256 tenor, uint256 cap);
    error CreditLimitExceeded(address debtor, uint256 limit, uint256 needed);
    error UnknownSlot(uint256 slot);
    error UnknownVoucher(uint256 tokenId);
    error UnexpectedSlotStatus(uint256 slot, SlotStatus status);
    error NotCreditor(uint256 slot, address caller);
    error NotDebtor(uint256 slot, address caller);
    error NotHolder(uint256 tokenId, address account);
    error NotAuthorized(uint256 tokenId, address spender);
    error InsufficientAllowance(uint256 tokenId, address spender, uint256 allowance, uint256 needed);
    error InsufficientValue(uint256 tokenId, uint256 value, uint256 needed);
    error SlotMismatch(uint256 fromTokenId, uint256 toTokenId);
    error SameVoucher(uint256 tokenId);
    error VoucherFrozen(uint256 tokenId);
    error VoucherNotFrozen(uint256 tokenId);
    error SlotMatured(uint256 slot, uint256 maturity);
    error SlotNotMatured(uint256 tokenId, uint256 slot, uint256 maturity);
    error SlotNotFullyFunded(uint256 tokenId, uint256 slot, uint256 funded, uint256 faceValue);
    error OverFunding(uint256 slot, uint256 unfunded, uint256 amount);
    error GracePeriodNotOver(uint256 slot, uint256 overdueFrom);
    error SlotFullyFunded(uint256 slot);
    error AlreadyOverdue(uint256 slot, uint256 overdueAt);
    error TooManyFragments(uint256 slot);
    error InvalidReceiver(address receiver);
    error SelfApproval(address owner);
    error NoDescriptor();

    /// @param registry_ the consortium registry (members, roles, operators, governance).
    /// @param settlementToken_ the cash leg; its decimals become `valueDecimals()`.
    /// @param tradeRegistry_ where invoices are anchored and reserved.
    constructor(IConsortiumRegistry registry_, IERC20 settlementToken_, ITradeRegistry tradeRegistry_, uint8 decimals_)
        ConsortiumGuarded(registry_)
    {
        if (
            address(registry_) == address(0) || address(settlementToken_) == address(0)
                || address(tradeRegistry_) == address(0)
        ) revert ZeroAddress();
        settlementToken = settlementToken_;
        tradeRegistry = tradeRegistry_;
        _valueDecimals = decimals_;
        _maxTenor = uint32(180 days);
        _gracePeriod = uint32(3 days);
        emit MaxTenorSet(0, 180 days);
        emit GracePeriodSet(0, 3 days);
    }

    modifier onlyGovernance() {
        if (!IAccessControl(address(registry)).hasRole(bytes32(0), msg.sender)) revert NotGovernance(msg.sender);
        _;
    }

    modifier whenNotPaused() {
        if (_paused) revert SystemPaused();
        _;
    }

    // =================================================================== issuance

    /// @notice A core enterprise issues a voucher for `faceValue` minor units, due at `maturity`,
    ///         to `creditor`, against a confirmed invoice between them. The issuance counts
    ///         against the debtor's credit limit until settled or cancelled, and reserves the
    ///         invoice's amount so it cannot back more than its value.
    /// @dev Reverts NotCoreEnterprise, NotActiveMember, MaturityNotInFuture, MaturityBeyondTenor,
    ///      CreditLimitExceeded, or the trade registry's reservation errors.
    /// @return slotId the new slot (sequential from 1).
    function issue(address creditor, uint256 faceValue, uint256 maturity, uint256 tradeRecordId)
        external
        whenNotPaused
        returns (uint256 slotId)
    {
        if (creditor == address(0)) revert ZeroAddress();
        if (creditor == msg.sender) revert SelfIssuance(msg.sender);
        if (faceValue == 0) revert ZeroAmount();
        if (faceValue > MAX_VALUE) revert ValueTooLarge(faceValue, MAX_VALUE);
        if (maturity <= block.timestamp) revert MaturityNotInFuture(maturity, block.timestamp);
        uint256 latest = block.timestamp + _maxTenor;
        if (maturity > latest) revert MaturityBeyondTenor(maturity, latest);
        (uint8 debtorRoles, uint8 creditorRoles) = registry.rolesIfActivePair(msg.sender, creditor);
        if (debtorRoles & ROLE_CORE_ENTERPRISE == 0) revert NotCoreEnterprise(msg.sender);
        if (creditorRoles == 0) revert NotActiveMember(creditor);
        uint256 needed = _outstanding[msg.sender] + faceValue;
        uint256 limit = registry.creditLimitOf(msg.sender);
        if (needed > limit) revert CreditLimitExceeded(msg.sender, limit, needed);
        if (tradeRecordId > type(uint64).max) revert ValueTooLarge(tradeRecordId, type(uint64).max);

        slotId = ++_lastSlot;
        _slots[slotId] = Slot({
            debtor: msg.sender,
            maturity: uint40(maturity),
            status: SlotStatus.Issued,
            lastSerial: 0,
            faceValue: uint64(faceValue),
            funded: 0,
            redeemed: 0,
            issuedAt: uint40(block.timestamp),
            creditor: creditor,
            tradeRecordId: uint64(tradeRecordId),
            overdueAt: 0
        });
        _outstanding[msg.sender] = needed;
        emit VoucherIssued(slotId, msg.sender, creditor, faceValue, maturity, tradeRecordId);

        tradeRegistry.reserve(tradeRecordId, creditor, msg.sender, faceValue);
    }

    /// @notice The creditor accepts (signs for) an issuance: mints the root voucher holding the
    ///         whole face value.
    /// @return tokenId the root voucher, `slot << 32 | 1`.
    function accept(uint256 slotId) external whenNotPaused returns (uint256 tokenId) {
        Slot storage s = _existingSlot(slotId);
        if (s.status != SlotStatus.Issued) revert UnexpectedSlotStatus(slotId, s.status);
        if (msg.sender != s.creditor) revert NotCreditor(slotId, msg.sender);
        if (block.timestamp >= s.maturity) revert SlotMatured(slotId, s.maturity);
        if (registry.rolesIfActive(msg.sender) == 0) revert NotActiveMember(msg.sender);

        s.status = SlotStatus.Accepted;
        s.lastSerial = 1;
        tokenId = (slotId << SERIAL_BITS) | 1;
        uint256 value = s.faceValue;
        _tokens[tokenId] = Token({owner: msg.sender, value: uint56(value), parentSerial: 0, flags: 0});
        unchecked {
            // Cannot overflow: a balance counts tokens, each minted by a transaction.
            _balances[msg.sender] += 1;
        }
        emit VoucherAccepted(slotId, tokenId, msg.sender);
        emit Transfer(address(0), msg.sender, tokenId);
        emit SlotChanged(tokenId, 0, slotId);
        emit TransferValue(0, tokenId, value);
    }

    /// @notice The debtor withdraws an issuance the creditor has not accepted yet; the credit
    ///         line and the invoice reservation are released.
    function cancel(uint256 slotId) external {
        Slot storage s = _existingSlot(slotId);
        if (msg.sender != s.debtor) revert NotDebtor(slotId, msg.sender);
        if (s.status != SlotStatus.Issued) revert UnexpectedSlotStatus(slotId, s.status);
        s.status = SlotStatus.Cancelled;
        uint256 face = s.faceValue;
        _outstanding[msg.sender] -= face;
        emit VoucherCancelled(slotId, msg.sender);
        tradeRegistry.release(s.tradeRecordId, face);
    }

    // ================================================================ ERC-3525 moves

    /// @notice Split-transfer: moves `value` of `fromTokenId` into a new voucher owned by `to`.
    /// @dev The caller must be the holder, approved for the voucher or for all of the holder's,
    ///      or hold a value allowance. Reverts as `_checkMovable` does.
    /// @return newTokenId the new voucher, whose parent is `fromTokenId`.
    function transferFrom(uint256 fromTokenId, address to, uint256 value)
        external
        override
        returns (uint256 newTokenId)
    {
        Token storage t = _tokens[fromTokenId];
        _spendValue(fromTokenId, t.owner, msg.sender, value);
        newTokenId = _splitTo(fromTokenId, t, to, value);
        _checkOnERC3525Received(fromTokenId, newTokenId, to, value);
    }

    /// @notice Merge: moves `value` of `fromTokenId` into `toTokenId` of the same slot.
    function transferFrom(uint256 fromTokenId, uint256 toTokenId, uint256 value) external override {
        Token storage t = _tokens[fromTokenId];
        _spendValue(fromTokenId, t.owner, msg.sender, value);
        address to = _merge(fromTokenId, t, toTokenId, value);
        _checkOnERC3525Received(fromTokenId, toTokenId, to, value);
    }

    /// @notice Splits a voucher into new ones held by its holder: one per entry of `values`.
    /// @return newTokenIds the new vouchers, in the order of `values`.
    function split(uint256 tokenId, uint256[] calldata values) external returns (uint256[] memory newTokenIds) {
        Token storage t = _tokens[tokenId];
        if (t.owner != msg.sender) revert NotHolder(tokenId, msg.sender);
        newTokenIds = new uint256[](values.length);
        for (uint256 i = 0; i < values.length; ++i) {
            newTokenIds[i] = _splitTo(tokenId, t, msg.sender, values[i]);
        }
    }

    /// @notice Sets the value `operator` may move out of `tokenId` on behalf of its holder.
    function approve(uint256 tokenId, address operator, uint256 value) external override {
        address owner = _ownerOf(tokenId);
        if (operator == address(0)) revert ZeroAddress();
        if (operator == owner) revert SelfApproval(owner);
        if (msg.sender != owner) {
            if (!_operatorApprovals[owner][msg.sender] && _tokenApprovals[tokenId] != msg.sender) {
                revert NotAuthorized(tokenId, msg.sender);
            }
            _checkSpender(msg.sender); // a lapsed agent cannot hand its approval on either
        }
        Token storage t = _tokens[tokenId];
        if (t.flags & VALUE_APPROVED == 0) t.flags |= VALUE_APPROVED;
        _valueAllowances[tokenId][_approvalEpoch[tokenId]][operator] = value;
        emit ApprovalValue(tokenId, operator, value);
    }

    /// @notice Value `operator` may move out of `tokenId` for its current holder.
    function allowance(uint256 tokenId, address operator) external view override returns (uint256) {
        _ownerOf(tokenId);
        return _valueAllowances[tokenId][_approvalEpoch[tokenId]][operator];
    }

    // ================================================================ ERC-721 moves

    /// @notice Moves a whole voucher (ERC-721 transfer) with all its value and lineage.
    function transferFrom(address from, address to, uint256 tokenId) public override {
        _transferWhole(from, to, tokenId, true);
    }

    /// @notice Whole transfer that checks a contract receiver accepts ERC-721 tokens.
    function safeTransferFrom(address from, address to, uint256 tokenId) external override {
        safeTransferFrom(from, to, tokenId, "");
    }

    /// @notice Whole transfer with data for the receiver's `onERC721Received`.
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public override {
        _transferWhole(from, to, tokenId, true);
        _checkOnERC721Received(from, to, tokenId, data);
    }

    /// @notice Approves `to` to move the whole voucher `tokenId`.
    function approve(address to, uint256 tokenId) external override {
        address owner = _ownerOf(tokenId);
        if (to == owner) revert SelfApproval(owner);
        if (msg.sender != owner) {
            if (!_operatorApprovals[owner][msg.sender]) revert NotAuthorized(tokenId, msg.sender);
            _checkSpender(msg.sender); // a lapsed agent cannot hand its approval on either
        }
        _tokenApprovals[tokenId] = to;
        emit Approval(owner, to, tokenId);
    }

    /// @notice Approves or revokes `operator` for all vouchers of the caller.
    function setApprovalForAll(address operator, bool approved) external override {
        if (operator == msg.sender) revert SelfApproval(msg.sender);
        if (operator == address(0)) revert ZeroAddress();
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    // ============================================================ discounting hook

    /// @notice Used by the DiscountDesk only: moves `value` of `fromTokenId`, held by `holder`
    ///         (the desk's caller), to `to` (the financier) — whole if `value` is all of it,
    ///         else by split. No approval is needed: the holder authorised it by calling the desk.
    /// @return tokenId the voucher the financier now holds.
    function deskTransfer(uint256 fromTokenId, address holder, address to, uint256 value)
        external
        returns (uint256 tokenId)
    {
        if (msg.sender != _discountDesk) revert NotDiscountDesk(msg.sender);
        Token storage t = _tokens[fromTokenId];
        if (t.owner != holder) revert NotHolder(fromTokenId, holder);
        if (value == t.value) {
            _transferWhole(holder, to, fromTokenId, false);
            _checkOnERC721Received(holder, to, fromTokenId, "");
            return fromTokenId;
        }
        tokenId = _splitTo(fromTokenId, t, to, value);
        _checkOnERC3525Received(fromTokenId, tokenId, to, value);
    }

    // ======================================================= funding and redemption

    /// @notice The debtor pays `amount` minor units toward the slot (partial and early allowed;
    ///         also after maturity, which makes an overdue slot redeemable again). Pulls the
    ///         settlement tokens, so the debtor approves this contract first (or uses
    ///         `fundWithPermit`).
    function fund(uint256 slotId, uint256 amount) public whenNotPaused nonReentrant {
        Slot storage s = _existingSlot(slotId);
        if (msg.sender != s.debtor) revert NotDebtor(slotId, msg.sender);
        if (s.status != SlotStatus.Accepted) revert UnexpectedSlotStatus(slotId, s.status);
        if (amount == 0) revert ZeroAmount();
        uint256 unfunded = s.faceValue - s.funded;
        if (amount > unfunded) revert OverFunding(slotId, unfunded, amount);
        // Cannot overflow: funded + amount <= faceValue < 2**64.
        uint64 funded = s.funded + uint64(amount);
        s.funded = funded;
        emit SlotFunded(slotId, msg.sender, amount, funded, s.faceValue);
        settlementToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice `fund` with an EIP-2612 permit of the settlement token, in one transaction.
    /// @dev A permit already used (front-run) is tolerated when the allowance suffices.
    function fundWithPermit(uint256 slotId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        try IERC20Permit(address(settlementToken)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        fund(slotId, amount);
    }

    /// @notice Pays the holder of a matured voucher of a fully funded slot its value in
    ///         settlement tokens and burns the voucher. Anyone may call it; it always pays the
    ///         holder. When the slot's last value is redeemed the slot is settled and the
    ///         debtor's credit line released.
    function redeem(uint256 tokenId) external whenNotPaused nonReentrant {
        _redeem(tokenId);
    }

    /// @notice `redeem` for many vouchers; constant gas per voucher. Reverts whole if any fails,
    ///         with the failing voucher's id in the error.
    function redeemBatch(uint256[] calldata tokenIds) external whenNotPaused nonReentrant {
        for (uint256 i = 0; i < tokenIds.length; ++i) {
            _redeem(tokenIds[i]);
        }
    }

    /// @notice Records that a slot was not fully funded by maturity plus the grace period.
    ///         Anyone may report it; the lateness stays on record even after later funding.
    function markOverdue(uint256 slotId) external {
        Slot storage s = _existingSlot(slotId);
        if (s.status != SlotStatus.Accepted) revert UnexpectedSlotStatus(slotId, s.status);
        if (s.overdueAt != 0) revert AlreadyOverdue(slotId, s.overdueAt);
        uint256 overdueFrom = uint256(s.maturity) + _gracePeriod;
        if (block.timestamp < overdueFrom) revert GracePeriodNotOver(slotId, overdueFrom);
        if (s.funded >= s.faceValue) revert SlotFullyFunded(slotId);
        s.overdueAt = uint32(block.timestamp);
        emit SlotOverdue(slotId, s.debtor, s.faceValue - s.funded, msg.sender);
    }

    // ================================================================= supervision

    /// @notice An operator freezes a voucher (dispute, court order): it can neither move nor be
    ///         redeemed until unfrozen.
    function freeze(uint256 tokenId, bytes32 reasonHash) external onlyOperator {
        Token storage t = _tokens[tokenId];
        if (t.owner == address(0)) revert UnknownVoucher(tokenId);
        if (t.flags & FROZEN != 0) revert VoucherFrozen(tokenId);
        t.flags |= FROZEN;
        _freezeReasons[tokenId] = reasonHash;
        emit FreezeApplied(tokenId, reasonHash, msg.sender);
    }

    /// @notice An operator lifts a freeze.
    function unfreeze(uint256 tokenId) external onlyOperator {
        Token storage t = _tokens[tokenId];
        if (t.owner == address(0)) revert UnknownVoucher(tokenId);
        if (t.flags & FROZEN == 0) revert VoucherNotFrozen(tokenId);
        t.flags &= ~FROZEN;
        delete _freezeReasons[tokenId];
        emit FreezeLifted(tokenId, msg.sender);
    }

    /// @dev Paused: every issuance, movement, funding and redemption stops (freezes and
    ///      governance still work). The flag shares the configuration word.
    function _pausedFlag() internal view override returns (bool) {
        return _paused;
    }

    function _setPausedFlag(bool value) internal override {
        _paused = value;
    }

    /// @notice Governance sets the longest tenor of new issuances (at most 365 days).
    function setMaxTenor(uint256 tenor) external onlyGovernance {
        if (tenor == 0 || tenor > MAX_TENOR_CAP) revert TenorOutOfRange(tenor, MAX_TENOR_CAP);
        emit MaxTenorSet(_maxTenor, tenor);
        _maxTenor = uint32(tenor);
    }

    /// @notice Governance sets the grace period after maturity before a slot may be marked overdue.
    function setGracePeriod(uint256 period) external onlyGovernance {
        if (period > 90 days) revert TenorOutOfRange(period, 90 days);
        emit GracePeriodSet(_gracePeriod, period);
        _gracePeriod = uint32(period);
    }

    /// @notice Governance names the DiscountDesk allowed to call `deskTransfer`.
    function setDiscountDesk(address desk) external onlyGovernance {
        emit DiscountDeskSet(_discountDesk, desk);
        _discountDesk = desk;
    }

    /// @notice Governance names the contract that renders metadata URIs.
    function setDescriptor(IVoucherDescriptor descriptor) external onlyGovernance {
        emit DescriptorSet(address(_descriptor), address(descriptor));
        _descriptor = descriptor;
    }

    // ======================================================================= views

    /// @notice The issuance behind `slotId` (status None if unknown).
    function slotInfo(uint256 slotId) external view returns (Slot memory) {
        return _slots[slotId];
    }

    /// @notice Holder, value, parent and frozen flag of a voucher (owner 0 if it does not exist).
    function tokenInfo(uint256 tokenId)
        external
        view
        returns (address owner, uint256 slot, uint256 value, uint256 parent, bool frozen)
    {
        Token storage t = _tokens[tokenId];
        owner = t.owner;
        slot = tokenId >> SERIAL_BITS;
        value = t.value;
        parent = _parentOf(tokenId, t);
        frozen = t.flags & FROZEN != 0;
    }

    /// @notice The voucher `tokenId`'s value came from when it was created; 0 for a root.
    function parentOf(uint256 tokenId) external view returns (uint256) {
        Token storage t = _tokens[tokenId];
        if (t.owner == address(0)) revert UnknownVoucher(tokenId);
        return _parentOf(tokenId, t);
    }

    /// @notice Maturity (unix seconds) of `slotId`; reverts UnknownSlot.
    function maturityOf(uint256 slotId) external view returns (uint256) {
        return _existingSlot(slotId).maturity;
    }

    /// @notice Face value of `debtor`'s issuances not yet settled or cancelled.
    function outstandingOf(address debtor) external view returns (uint256) {
        return _outstanding[debtor];
    }

    /// @notice The reason hash recorded with a voucher's freeze (0 if not frozen).
    function freezeReasonOf(uint256 tokenId) external view returns (bytes32) {
        return _freezeReasons[tokenId];
    }

    /// @notice Number of slots issued so far (the last slot id).
    function slotCount() external view returns (uint256) {
        return _lastSlot;
    }

    /// @notice The ledger's parameters.
    function parameters()
        external
        view
        returns (uint256 maxTenor, uint256 gracePeriod, address discountDesk, bool paused_, address descriptor)
    {
        return (_maxTenor, _gracePeriod, _discountDesk, _paused, address(_descriptor));
    }

    /// @inheritdoc IERC3525
    function valueDecimals() external view override returns (uint8) {
        return _valueDecimals;
    }

    /// @inheritdoc IERC3525
    function balanceOf(uint256 tokenId) external view override returns (uint256) {
        Token storage t = _tokens[tokenId];
        if (t.owner == address(0)) revert UnknownVoucher(tokenId);
        return t.value;
    }

    /// @inheritdoc IERC3525
    function slotOf(uint256 tokenId) external view override returns (uint256) {
        _ownerOf(tokenId);
        return tokenId >> SERIAL_BITS;
    }

    /// @inheritdoc IERC721
    function balanceOf(address owner) external view override returns (uint256) {
        if (owner == address(0)) revert ZeroAddress();
        return _balances[owner];
    }

    /// @inheritdoc IERC721
    function ownerOf(uint256 tokenId) external view override returns (address) {
        return _ownerOf(tokenId);
    }

    /// @inheritdoc IERC721
    function getApproved(uint256 tokenId) external view override returns (address) {
        _ownerOf(tokenId);
        return _tokenApprovals[tokenId];
    }

    /// @inheritdoc IERC721
    function isApprovedForAll(address owner, address operator) external view override returns (bool) {
        return _operatorApprovals[owner][operator];
    }

    /// @inheritdoc IERC721Metadata
    function name() external pure override returns (string memory) {
        return "Receivable Voucher";
    }

    /// @inheritdoc IERC721Metadata
    function symbol() external pure override returns (string memory) {
        return "RCV";
    }

    /// @inheritdoc IERC721Metadata
    function tokenURI(uint256 tokenId) external view override returns (string memory) {
        _ownerOf(tokenId);
        return _requireDescriptor().tokenURI(address(this), tokenId);
    }

    /// @inheritdoc IERC3525Metadata
    function contractURI() external view override returns (string memory) {
        return _requireDescriptor().contractURI(address(this));
    }

    /// @inheritdoc IERC3525Metadata
    function slotURI(uint256 slotId) external view override returns (string memory) {
        _existingSlot(slotId);
        return _requireDescriptor().slotURI(address(this), slotId);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure override returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC721).interfaceId
            || interfaceId == type(IERC721Metadata).interfaceId || interfaceId == type(IERC3525).interfaceId
            || interfaceId == type(IERC3525Metadata).interfaceId;
    }

    // =================================================================== internals

    /// @dev The choke point: every movement of value (split, merge, whole transfer) passes here.
    function _checkMovable(uint256 tokenId, Token storage t, address to) private view returns (uint256 slotId) {
        if (_paused) revert SystemPaused();
        address from = t.owner;
        if (from == address(0)) revert UnknownVoucher(tokenId);
        if (to == address(0)) revert ZeroAddress();
        if (t.flags & FROZEN != 0) revert VoucherFrozen(tokenId);
        slotId = tokenId >> SERIAL_BITS;
        uint256 maturity = _slots[slotId].maturity;
        if (block.timestamp >= maturity) revert SlotMatured(slotId, maturity);
        (uint8 fromRoles, uint8 toRoles) = registry.rolesIfActivePair(from, to);
        if (fromRoles == 0) revert NotActiveMember(from);
        if (toRoles == 0) revert NotActiveMember(to);
    }

    function _splitTo(uint256 fromTokenId, Token storage t, address to, uint256 value)
        private
        returns (uint256 newTokenId)
    {
        uint256 slotId = _checkMovable(fromTokenId, t, to);
        if (value == 0) revert ZeroAmount();
        uint256 balance = t.value;
        if (value > balance) revert InsufficientValue(fromTokenId, balance, value);
        Slot storage s = _slots[slotId];
        uint32 serial = s.lastSerial;
        if (serial == type(uint32).max) revert TooManyFragments(slotId);
        unchecked {
            // Cannot overflow: checked against type(uint32).max just above.
            serial += 1;
            // Cannot underflow: value <= balance.
            t.value = uint56(balance - value);
            // Cannot overflow: a balance counts tokens, each minted by a transaction.
            _balances[to] += 1;
        }
        s.lastSerial = serial;
        newTokenId = (slotId << SERIAL_BITS) | serial;
        _tokens[newTokenId] =
            Token({owner: to, value: uint56(value), parentSerial: uint32(fromTokenId & SERIAL_MASK), flags: 0});
        emit Transfer(address(0), to, newTokenId);
        emit SlotChanged(newTokenId, 0, slotId);
        emit TransferValue(fromTokenId, newTokenId, value);
    }

    function _merge(uint256 fromTokenId, Token storage t, uint256 toTokenId, uint256 value)
        private
        returns (address to)
    {
        if (fromTokenId == toTokenId) revert SameVoucher(fromTokenId);
        if ((fromTokenId >> SERIAL_BITS) != (toTokenId >> SERIAL_BITS)) revert SlotMismatch(fromTokenId, toTokenId);
        Token storage u = _tokens[toTokenId];
        to = u.owner;
        if (to == address(0)) revert UnknownVoucher(toTokenId);
        if (u.flags & FROZEN != 0) revert VoucherFrozen(toTokenId);
        _checkMovable(fromTokenId, t, to);
        if (value == 0) revert ZeroAmount();
        uint256 balance = t.value;
        if (value > balance) revert InsufficientValue(fromTokenId, balance, value);
        unchecked {
            // Cannot underflow: value <= balance. Cannot overflow: both values are parts of one
            // slot's face value, which fits in uint56.
            t.value = uint56(balance - value);
            u.value += uint56(value);
        }
        emit TransferValue(fromTokenId, toTokenId, value);
    }

    function _transferWhole(address from, address to, uint256 tokenId, bool checkSpender) private {
        Token storage t = _tokens[tokenId];
        address owner = t.owner;
        if (owner == address(0)) revert UnknownVoucher(tokenId);
        if (owner != from) revert NotHolder(tokenId, from);
        if (checkSpender && msg.sender != owner) {
            if (!_operatorApprovals[owner][msg.sender] && _tokenApprovals[tokenId] != msg.sender) {
                revert NotAuthorized(tokenId, msg.sender);
            }
            _checkSpender(msg.sender);
        }
        _checkMovable(tokenId, t, to);
        if (_tokenApprovals[tokenId] != address(0)) delete _tokenApprovals[tokenId];
        uint8 flags = t.flags;
        if (flags & VALUE_APPROVED != 0) {
            // The new holder starts with no value allowances: open a new approval epoch.
            _approvalEpoch[tokenId] += 1;
            t.flags = flags & ~VALUE_APPROVED;
        }
        unchecked {
            // Cannot underflow: `from` owns this token. Cannot overflow: counts tokens.
            _balances[from] -= 1;
            _balances[to] += 1;
        }
        t.owner = to;
        emit Transfer(from, to, tokenId);
    }

    /// @dev Holders, operators approved for all, and the voucher's approved address move any
    ///      value; anyone else spends a value allowance. A spender that is not the holder must
    ///      be an active member (`_checkSpender`).
    function _spendValue(uint256 tokenId, address owner, address spender, uint256 value) private {
        if (owner == address(0)) revert UnknownVoucher(tokenId);
        if (spender == owner) return;
        _checkSpender(spender);
        if (_operatorApprovals[owner][spender] || _tokenApprovals[tokenId] == spender) return;
        uint256 epoch = _approvalEpoch[tokenId];
        uint256 allowed = _valueAllowances[tokenId][epoch][spender];
        if (allowed < value) revert InsufficientAllowance(tokenId, spender, allowed, value);
        if (allowed != type(uint256).max) {
            unchecked {
                // Cannot underflow: allowed >= value.
                _valueAllowances[tokenId][epoch][spender] = allowed - value;
            }
        }
    }

    /// @dev An approval outlives the holder's trust in its operator: whoever moves a voucher
    ///      for its holder must be an active member when it does, so a suspended or removed
    ///      member (or an outsider given an approval) moves nothing.
    function _checkSpender(address spender) private view {
        if (registry.rolesIfActive(spender) == 0) revert NotActiveMember(spender);
    }

    function _redeem(uint256 tokenId) private {
        Token storage t = _tokens[tokenId];
        address holder = t.owner;
        if (holder == address(0)) revert UnknownVoucher(tokenId);
        if (t.flags & FROZEN != 0) revert VoucherFrozen(tokenId);
        uint256 slotId = tokenId >> SERIAL_BITS;
        Slot storage s = _slots[slotId];
        if (block.timestamp < s.maturity) revert SlotNotMatured(tokenId, slotId, s.maturity);
        uint256 face = s.faceValue;
        if (s.funded < face) revert SlotNotFullyFunded(tokenId, slotId, s.funded, face);
        uint256 value = t.value;

        delete _tokens[tokenId];
        unchecked {
            // Cannot underflow: the holder owns this token.
            _balances[holder] -= 1;
        }
        // Cannot overflow: redeemed + value <= faceValue by the slot invariant.
        uint64 redeemed = s.redeemed + uint64(value);
        s.redeemed = redeemed;
        emit Transfer(holder, address(0), tokenId);
        emit TransferValue(tokenId, 0, value);
        emit VoucherRedeemed(tokenId, slotId, holder, value);
        // Settles on the redemption that completes the face value; an empty voucher burned
        // afterwards (value 0) must not settle the slot a second time.
        if (value != 0 && redeemed == face) {
            s.status = SlotStatus.Settled;
            _outstanding[s.debtor] -= face;
            emit SlotSettled(slotId, s.debtor, s.overdueAt != 0);
        }
        if (value != 0) settlementToken.safeTransfer(holder, value);
    }

    function _parentOf(uint256 tokenId, Token storage t) private view returns (uint256) {
        uint256 parentSerial = t.parentSerial;
        return parentSerial == 0 ? 0 : ((tokenId >> SERIAL_BITS) << SERIAL_BITS) | parentSerial;
    }

    function _ownerOf(uint256 tokenId) private view returns (address owner) {
        owner = _tokens[tokenId].owner;
        if (owner == address(0)) revert UnknownVoucher(tokenId);
    }

    function _existingSlot(uint256 slotId) private view returns (Slot storage s) {
        s = _slots[slotId];
        if (s.status == SlotStatus.None) revert UnknownSlot(slotId);
    }

    function _requireDescriptor() private view returns (IVoucherDescriptor d) {
        d = _descriptor;
        if (address(d) == address(0)) revert NoDescriptor();
    }

    /// @dev ERC-3525: a contract receiver that declares IERC3525Receiver must accept.
    function _checkOnERC3525Received(uint256 fromTokenId, uint256 toTokenId, address to, uint256 value) private {
        if (to.code.length == 0) return;
        try IERC165(to).supportsInterface(type(IERC3525Receiver).interfaceId) returns (bool supported) {
            if (!supported) return;
        } catch {
            return;
        }
        try IERC3525Receiver(to).onERC3525Received(msg.sender, fromTokenId, toTokenId, value, "") returns (
            bytes4 retval
        ) {
            if (retval != IERC3525Receiver.onERC3525Received.selector) revert InvalidReceiver(to);
        } catch {
            revert InvalidReceiver(to);
        }
    }

    /// @dev ERC-721 safe transfers: a contract receiver must return the magic value.
    function _checkOnERC721Received(address from, address to, uint256 tokenId, bytes memory data) private {
        if (to.code.length == 0) return;
        try IERC721Receiver(to).onERC721Received(msg.sender, from, tokenId, data) returns (bytes4 retval) {
            if (retval != IERC721Receiver.onERC721Received.selector) revert InvalidReceiver(to);
        } catch {
            revert InvalidReceiver(to);
        }
    }
}
