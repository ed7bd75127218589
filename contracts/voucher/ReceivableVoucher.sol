// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC3525, IERC3525Metadata, IERC3525Receiver} from "../interfaces/IERC3525.sol";
import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {ITradeRegistry} from "../interfaces/ITradeRegistry.sol";
import {IVoucherDescriptor} from "../interfaces/IVoucherDescriptor.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";
import {Amounts} from "../common/Amounts.sol";
import {Roles} from "../common/Roles.sol";
import {ExceedsExcess, NotActiveMember, NotCoreEnterprise, ZeroAddress, ZeroAmount} from "../common/ConsortiumErrors.sol";

/// @notice The CreditDesk, told when a court order takes a voucher out of its custody.
interface ICustodian {
    function custodyEnded(uint256 tokenId) external;
}

/// @notice The pause clock of the settlement token, as the ledger reads it.
interface IPauseClock {
    function paused() external view returns (bool);
    function pausedSecondsAt(uint256 timestamp) external view returns (uint256);
}

/// @title ReceivableVoucher
/// @notice The ledger of digital claim vouchers: an ERC-3525 semi-fungible token whose slot is
///         one issuance (a core enterprise's debt to a supplier, due at maturity) and whose value
///         is an amount of that claim in settlement minor units. Holders split, transfer, merge
///         and discount it up the supply chain; at maturity the debtor funds the slot and every
///         holder is redeemed in settlement tokens.
/// @dev Token ids encode their slot: `tokenId = slot << 32 | serial`, serial 1 being the root
///      voucher minted on acceptance. A voucher is one storage word (holder, value, parent serial,
///      flags), so a split-transfer writes one new word. Every change of holder or value (mint,
///      split, merge, whole move, burn, court-ordered move) passes `_update`, where pause,
///      freeze, maturity, membership, holder role and debtor status are checked once.
///      Invariants per slot: sum of live voucher values + redeemed == face value (once
///      accepted); the ledger holds at least the funded-but-unpaid cash of all slots.
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

    uint8 public constant ROLE_CORE_ENTERPRISE = Roles.CORE_ENTERPRISE;
    /// @notice Roles that may hold vouchers (core enterprise, supplier, financier).
    uint8 public constant VOUCHER_HOLDER_ROLES = Roles.VOUCHER_HOLDERS;
    /// @notice Largest face value of an issuance, in minor units (about 7.2e14 currency units).
    uint256 public constant MAX_VALUE = Amounts.MAX;
    /// @notice The longest tenor governance may ever allow.
    uint256 public constant MAX_TENOR_CAP = 365 days;
    /// @notice The longest grace period governance may set.
    uint256 public constant MAX_GRACE_PERIOD = 90 days;
    uint256 private constant SERIAL_BITS = 32;
    uint256 private constant SERIAL_MASK = (1 << SERIAL_BITS) - 1;
    /// @dev A stored value allowance of this size is unlimited (never decremented).
    uint96 private constant UNLIMITED = type(uint96).max;

    enum SlotStatus {
        None,
        Issued,
        Accepted,
        Cancelled,
        Settled
    }

    /// @dev What `_update` is asked to do. The order matters: changes before CourtOrder are a
    ///      holder's own (clock, debtor watch); Burn and WriteOff pay out.
    enum Change {
        Mint, // the root voucher, on acceptance
        Split, // value into a new voucher
        Merge, // value into another voucher of the slot
        Move, // a whole voucher to a new holder
        CourtOrder, // a whole voucher moved by the consortium's governance
        Recourse, // a whole voucher of an overdue slot put back to its seller (DiscountDesk)
        Burn, // a payout: the voucher's due share, and the voucher burned once paid whole
        WriteOff // a payout of what is due, then the rest of the value written off and burned
    }

    /// @dev Word 0 is read by every movement; word 1 holds the money; word 2 the provenance;
    ///      word 3, written only by write-offs, what holders gave up.
    ///      `redeemed` counts every unit paid out (redemptions and pro-rata payouts);
    ///      `writtenOff` the value of vouchers written off, beyond what they had been paid;
    ///      `writtenOffPaid` what those vouchers had been paid before.
    ///      Per slot: live values + redeemed + writtenOff == faceValue (once accepted).
    struct Slot {
        address debtor;
        uint40 maturity;
        SlotStatus status;
        uint32 lastSerial;
        uint8 flags;
        uint64 faceValue;
        uint64 funded;
        uint64 redeemed;
        uint40 issuedAt;
        address creditor;
        uint64 tradeRecordId;
        uint32 overdueAt;
        uint64 writtenOff;
        uint64 writtenOffPaid;
    }

    /// @dev One storage word per voucher. `flags`: FROZEN, VALUE_APPROVED (some value
    ///      allowance was granted under the current approval epoch).
    struct Token {
        address owner;
        uint56 value;
        uint32 parentSerial;
        uint8 flags;
    }

    /// @dev A value allowance and who granted it: the holder, or an agent whose own authority
    ///      (approval, membership) the allowance never outlives.
    struct ValueAllowance {
        address grantor;
        uint96 amount;
    }

    uint8 private constant FROZEN = 1;
    /// @dev Slot flags (bits 240-247 of word 0). WRITTEN_OFF: some voucher was written off
    ///      (word 3 is not empty), so payouts and funding read it. ROUTED: an insurance claim
    ///      was paid, so only the credit desk funds the slot (in the policy's order).
    ///      PAID_PRO_RATA below.
    uint8 private constant SLOT_WRITTEN_OFF = 1;
    uint8 private constant SLOT_ROUTED = 2;
    /// @dev Slot flag: some voucher was paid pro rata (so `_paidOut` may hold a record to clear).
    uint8 private constant SLOT_PAID_PRO_RATA = 4;
    // Bit offsets in a Token word and a Slot's first word (see `_loadToken`, `_loadSlotHead`).
    uint256 private constant TOKEN_VALUE = 160;
    uint256 private constant TOKEN_FLAGS = 248;
    uint256 private constant SLOT_MATURITY = 160;
    uint256 private constant SLOT_STATUS = 200;
    uint256 private constant SLOT_LAST_SERIAL = 208;
    uint256 private constant SLOT_ISSUED_AT = 192;
    uint256 private constant SLOT_TRADE_RECORD = 160;
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
    /// @dev Settlement tokens funded and not yet paid out: what the ledger owes holders.
    uint256 private _held;
    /// @dev The CreditDesk (pledges, credit insurance, funding on a payer's behalf).
    address private _creditDesk;

    mapping(uint256 slot => Slot) private _slots;
    mapping(uint256 tokenId => Token) private _tokens;
    mapping(address owner => uint256) private _balances;
    mapping(uint256 tokenId => address) private _tokenApprovals;
    mapping(address owner => mapping(address operator => bool)) private _operatorApprovals;
    /// @dev Value allowances live under an approval epoch per voucher; a whole transfer of a
    ///      voucher that has any moves it to a new epoch, so none survives a change of holder
    ///      (not even when the voucher later comes back).
    mapping(uint256 tokenId => mapping(uint256 epoch => mapping(address operator => ValueAllowance))) private
        _valueAllowances;
    mapping(uint256 tokenId => uint256) private _approvalEpoch;
    mapping(address debtor => uint256) private _outstanding;
    mapping(uint256 tokenId => bytes32) private _freezeReasons;
    /// @dev Counts each voucher's freezes: a court order's approvals are bound to the freeze
    ///      (and the holder's suspension) they were given under.
    mapping(uint256 tokenId => uint256) private _freezeCount;
    /// @dev Cash paid to a live voucher by pro-rata payouts of its overdue slot; its value
    ///      already went down by as much (its nominal claim is value + paid out).
    mapping(uint256 tokenId => uint256) private _paidOut;

    /// @notice Emitted by `issue`: a core enterprise (`debtor`, the caller) issued a voucher to
    ///         `creditor`, opening slot `slot`.
    event VoucherIssued(
        uint256 indexed slot,
        address indexed debtor,
        address indexed creditor,
        uint256 faceValue,
        uint256 maturity,
        uint256 tradeRecordId
    );
    /// @notice Emitted by `accept`: the creditor signed for the issuance and the root voucher
    ///         `tokenId` (`slot << 32 | 1`) holding the whole face value was minted to it.
    event VoucherAccepted(uint256 indexed slot, uint256 indexed tokenId, address indexed creditor);
    /// @notice Emitted by `cancel`: the debtor withdrew an issuance not yet accepted; its credit
    ///         line and invoice reservation are released.
    event VoucherCancelled(uint256 indexed slot, address indexed debtor);
    /// @notice Emitted by every payment of `fund` into a slot (the credit desk's payments on a
    ///         payer's behalf name the desk; its own event names the payer).
    /// @param payer who paid: the slot's debtor, or an active member paying on its behalf.
    /// @param funded what the slot has received so far, of `faceValue`.
    event SlotFunded(uint256 indexed slot, address indexed payer, uint256 amount, uint256 funded, uint256 faceValue);
    /// @notice Emitted by the `fund` payment that completes a slot (funded + written off = face
    ///         value), or the `writeOff` that does: nothing more can be funded, so the face value
    ///         no longer counts against the debtor's credit limit (what was written off stays
    ///         on the slot, unpaid, for the regulator).
    event CreditReleased(uint256 indexed slot, address indexed debtor, uint256 faceValue);
    /// @notice Emitted by `routeFunding` (the credit desk, paying an insurance claim): from now
    ///         on only `desk` funds the slot, in the order its policy says.
    event FundingRouted(uint256 indexed slot, address indexed desk);
    /// @notice Emitted by `setCreditDesk`: governance named the CreditDesk (the zero address:
    ///         none).
    event CreditDeskSet(address indexed from, address indexed to);
    /// @notice Emitted by `markOverdue`: the slot was still not fully funded after its overdue
    ///         time (maturity + grace period + every second the ledger or the settlement token
    ///         was paused since issue, see `overdueFromOf`).
    /// @param unfunded the face value not yet funded.
    /// @param reporter the caller (anyone).
    event SlotOverdue(uint256 indexed slot, address indexed debtor, uint256 unfunded, address indexed reporter);
    /// @notice Emitted by the redemption (`redeem`) or `writeOff` that takes the
    ///         slot's live value to zero (everything redeemed, paid out or written off): the
    ///         slot is Settled.
    /// @param wasOverdue whether `markOverdue` recorded the slot as overdue.
    event SlotSettled(uint256 indexed slot, address indexed debtor, bool wasOverdue);
    /// @notice Emitted by `redeem` (also through PayoutKeeper's `redeemBatch`) for each voucher paid its value (nothing for
    ///         a voucher emptied by merges) and burned.
    event VoucherRedeemed(uint256 indexed tokenId, uint256 indexed slot, address indexed holder, uint256 value);
    /// @notice Emitted by `redeem` (also through PayoutKeeper's `redeemBatch`) for a voucher of an overdue slot not fully
    ///         funded: it was paid its pro-rata share and stays alive for the rest.
    /// @param amount what was paid now.
    /// @param paidOut all it has been paid by such payouts.
    /// @param value the value it still claims.
    event VoucherPartlyPaid(
        uint256 indexed tokenId, uint256 indexed slot, address indexed holder, uint256 amount, uint256 paidOut, uint256 value
    );
    /// @notice Emitted by `writeOff`: the holder gave up the rest of an overdue voucher, which
    ///         was burned after being paid its due share (`paid`, possibly 0). The debtor's
    ///         debt is unchanged: `writtenOff` stays on the slot for the regulator.
    event VoucherWrittenOff(
        uint256 indexed tokenId, uint256 indexed slot, address indexed holder, uint256 writtenOff, uint256 paid
    );
    /// @notice Emitted by `freeze`: an operator froze a voucher.
    event FreezeApplied(uint256 indexed tokenId, bytes32 reasonHash, address indexed operator);
    /// @notice Emitted by `unfreeze`: an operator lifted a voucher's freeze.
    event FreezeLifted(uint256 indexed tokenId, address indexed operator);
    /// @notice Emitted by the `forceTransfer` call that moves a voucher: the operator approval
    ///         that reaches the consortium's threshold (the first call, with a threshold of 1).
    /// @param operator the operator whose approval completed the court order.
    event VoucherForceTransferred(
        uint256 indexed tokenId, address indexed from, address indexed to, bytes32 reasonHash, address operator
    );
    /// @notice Emitted by `returnExcessSettlement`: governance sent `amount` of the settlement
    ///         tokens held beyond what the ledger owes holders to `to`.
    event ExcessSettlementReturned(address indexed to, uint256 amount, address indexed governance);
    /// @notice Emitted by the constructor (0 to 180 days) and by `setMaxTenor`.
    event MaxTenorSet(uint256 from, uint256 to);
    /// @notice Emitted by the constructor (0 to 3 days) and by `setGracePeriod`.
    event GracePeriodSet(uint256 from, uint256 to);
    /// @notice Emitted by `setDiscountDesk`: governance named the desk allowed to call
    ///         `deskTransfer` (the zero address: none).
    event DiscountDeskSet(address indexed from, address indexed to);
    /// @notice Emitted by `setDescriptor`: governance named the metadata descriptor (the zero
    ///         address: none).
    event DescriptorSet(address indexed from, address indexed to);

    /// @notice `deskTransfer` or `recourseTransfer` called by anyone but the discount desk
    ///         governance named.
    error NotDiscountDesk(address account);
    /// @notice `routeFunding` called by anyone but the credit desk governance named.
    error NotCreditDesk(address account);
    /// @notice `fund` of a slot whose insurance claim was paid, by anyone but the credit desk:
    ///         pay through the desk, which follows the policy's order of recovery.
    error FundThroughDesk(uint256 slot, address desk);
    /// @notice `redeem` (or a PayoutKeeper `redeemBatch` entry) of a voucher of an overdue slot whose funding
    ///         entitles it to nothing more yet.
    error NothingToPay(uint256 tokenId);
    /// @notice `writeOff` or `recourseTransfer` of a voucher whose slot is not marked overdue
    ///         (`markOverdue`).
    error SlotNotOverdue(uint256 slot);
    /// @notice The ledger is paused: `issue`, `cancel`, `fund`, `redeem`,
    ///         `writeOff`, `markOverdue`, and every change of holder or value: `accept`,
    ///         split-transfer, merge, `split`, whole transfers, `deskTransfer`, and the
    ///         `forceTransfer` call that would move the voucher (approvals short of the
    ///         threshold are still counted). Approvals, freezes and governance settings go on.
    error SystemPaused();
    /// @notice `markOverdue` while the settlement token is paused (nobody can pay meanwhile).
    error SettlementPaused();
    /// @notice `issue` of a face value above MAX_VALUE (`max` = MAX_VALUE), or against a trade
    ///         record id above 2**64 - 1 (`value` = the id, `max` = 2**64 - 1).
    error ValueTooLarge(uint256 value, uint256 max);
    /// @notice A receiver that is an active member without a role that may hold vouchers (an
    ///         auditor only): the creditor of `issue`, and the receiver of `accept` (the
    ///         creditor, if its roles changed since), a split-transfer, a merge (the receiving
    ///         voucher's holder), a whole transfer, `deskTransfer` or `forceTransfer`.
    error CannotHoldVouchers(address account, uint8 roles);
    /// @notice The slot's debtor is not an active member (suspended or removed): the slot is
    ///         under watch, and `accept`, split-transfers, merges, `split`, whole transfers and
    ///         `deskTransfer` (so discounting) of its vouchers are refused. `redeem` of what was
    ///         fully funded and `forceTransfer` go on; the debtor itself cannot `fund` meanwhile
    ///         (the settlement token refuses its cash), and funding by others is not built yet.
    error DebtorNotActive(uint256 slot, address debtor);
    /// @notice `issue` naming the caller as its own creditor.
    error SelfIssuance(address account);
    /// @notice `issue` with a maturity not after the current block time.
    error MaturityNotInFuture(uint256 maturity, uint256 now_);
    /// @notice `issue` with a maturity later than now plus the longest tenor (`parameters`).
    error MaturityBeyondTenor(uint256 maturity, uint256 latest);
    /// @notice `setMaxTenor` of 0 or above MAX_TENOR_CAP, or `setGracePeriod` above
    ///         MAX_GRACE_PERIOD.
    /// @param cap MAX_TENOR_CAP or MAX_GRACE_PERIOD.
    error TenorOutOfRange(uint256 tenor, uint256 cap);
    /// @notice `issue` that would take the debtor's face value outstanding (issued, not
    ///         cancelled and not fully funded, see `outstandingOf`) above its credit limit.
    /// @param needed the outstanding face value with this issuance.
    error CreditLimitExceeded(address debtor, uint256 limit, uint256 needed);
    /// @notice No slot was ever issued with this id: `accept`, `cancel`, `fund`,
    ///         `markOverdue`, `overdueFromOf`, `maturityOf`, `slotURI`.
    error UnknownSlot(uint256 slot);
    /// @notice No live voucher has this id (never minted, or redeemed): `ownerOf`,
    ///         `balanceOf(uint256)`, `slotOf`, `getApproved`, `allowance`, `parentOf`,
    ///         `tokenURI`, both `approve`s, every `transferFrom` and `safeTransferFrom` (for a
    ///         merge, also the receiving voucher), `redeem` (and a `redeemBatch` entry),
    ///         `freeze`, `unfreeze`, `forceTransfer`.
    error UnknownVoucher(uint256 tokenId);
    /// @notice `accept` or `cancel` of a slot that is not Issued; `fund` or `markOverdue` of a
    ///         slot that is not Accepted.
    /// @param status the slot's current status.
    error UnexpectedSlotStatus(uint256 slot, SlotStatus status);
    /// @notice `accept` by anyone but the slot's creditor.
    error NotCreditor(uint256 slot, address caller);
    /// @notice `cancel` by anyone but the slot's debtor.
    error NotDebtor(uint256 slot, address caller);
    /// @notice `account` does not hold the voucher: `split` by a caller that does not hold it;
    ///         a whole transfer (`transferFrom`, `safeTransferFrom`) whose `from` is not its
    ///         holder; `deskTransfer` whose `holder` (the desk's caller) is not.
    error NotHolder(uint256 tokenId, address account);
    /// @notice A caller that is not the holder nor an agent the call allows: a whole transfer
    ///         (`transferFrom`, `safeTransferFrom`) by a caller neither approved for the voucher
    ///         nor for all of the holder's; a value allowance (ERC-3525 `approve`) granted by
    ///         such a caller; a voucher approval (ERC-721 `approve`) granted by a caller not
    ///         approved for all of the holder's.
    error NotAuthorized(uint256 tokenId, address spender);
    /// @notice A split-transfer or merge (ERC-3525 `transferFrom`) by a caller that is neither
    ///         the holder nor approved for the voucher or for all, whose value allowance is
    ///         below the value moved.
    /// @param allowance the usable allowance: 0 when the agent that granted it has since lost
    ///        its approval or its membership.
    error InsufficientAllowance(uint256 tokenId, address spender, uint256 allowance, uint256 needed);
    /// @notice A split-transfer, merge, entry of `split` or split by `deskTransfer` of more
    ///         value than the voucher holds.
    error InsufficientValue(uint256 tokenId, uint256 value, uint256 needed);
    /// @notice A merge (`transferFrom(uint256,uint256,uint256)`) into a voucher of another slot.
    error SlotMismatch(uint256 fromTokenId, uint256 toTokenId);
    /// @notice A merge of a voucher into itself.
    error SameVoucher(uint256 tokenId);
    /// @notice The voucher is frozen: `freeze` of a frozen voucher; any change out of a frozen
    ///         voucher (split-transfer, merge, `split`, whole transfer, `deskTransfer`,
    ///         `redeem`) but `forceTransfer`; a merge into a frozen voucher.
    error VoucherFrozen(uint256 tokenId);
    /// @notice `unfreeze` of a voucher that is not frozen.
    error VoucherNotFrozen(uint256 tokenId);
    /// @notice The slot has reached maturity (block time at or after it): `accept`,
    ///         split-transfers, merges, `split`, whole transfers and `deskTransfer` are refused;
    ///         `forceTransfer` and redemption are not.
    error SlotMatured(uint256 slot, uint256 maturity);
    /// @notice `redeem` (or a PayoutKeeper `redeemBatch` entry) before the slot's maturity.
    error SlotNotMatured(uint256 tokenId, uint256 slot, uint256 maturity);
    /// @notice `redeem` (or a PayoutKeeper `redeemBatch` entry) of a voucher whose slot is neither fully
    ///         funded nor marked overdue (checked last: an unknown or frozen voucher, an
    ///         unmatured slot or a holder not active is reported first).
    error SlotNotFullyFunded(uint256 tokenId, uint256 slot, uint256 funded, uint256 faceValue);
    /// @notice `fund` of more than the slot still needs (face value minus funded).
    error OverFunding(uint256 slot, uint256 unfunded, uint256 amount);
    /// @notice `markOverdue` at or before the slot's overdue time (`overdueFromOf`).
    error GracePeriodNotOver(uint256 slot, uint256 overdueFrom);
    /// @notice `markOverdue` of a slot that is fully funded (checked after the overdue time), or
    ///         `writeOff` of a voucher of a fully funded slot (redeem it instead).
    error SlotFullyFunded(uint256 slot);
    /// @notice `markOverdue` of a slot already marked overdue.
    /// @param overdueAt when it was marked.
    error AlreadyOverdue(uint256 slot, uint256 overdueAt);
    /// @notice A split (split-transfer, `split`, `deskTransfer` of part of a voucher) in a slot
    ///         that has used all 2**32 - 1 serials.
    error TooManyFragments(uint256 slot);
    /// @notice A contract receiver refused: after a split-transfer, a merge (to the receiving
    ///         voucher's holder) or a split by `deskTransfer`, a contract that declares
    ///         IERC3525Receiver through ERC-165 reverted in `onERC3525Received` or returned
    ///         another value; after `safeTransferFrom` or a whole `deskTransfer`, a contract
    ///         that reverted in (or lacks) `onERC721Received` or returned another value.
    error InvalidReceiver(address receiver);
    /// @notice An approval of the holder itself: either `approve` naming the voucher's holder,
    ///         or `setApprovalForAll` naming the caller.
    error SelfApproval(address owner);
    /// @notice `tokenURI`, `contractURI` or `slotURI` while governance has named no descriptor.
    error NoDescriptor();
    /// @notice `forceTransfer` of a voucher that is not frozen and whose holder is an active
    ///         member: a court order is for a frozen voucher or a holder no longer active.
    error HolderInGoodStanding(uint256 tokenId, address holder);

    /// @param registry_ the consortium registry (members, roles, operators, governance).
    /// @param settlementToken_ the cash leg, an ERC-20 with metadata: its `decimals()` (2 for
    ///        SettlementToken: cents / fen), read here once, becomes `valueDecimals()`, so a
    ///        voucher's value reads in the same minor units as its cash.
    /// @param tradeRegistry_ where invoices are anchored and reserved.
    constructor(IConsortiumRegistry registry_, IERC20 settlementToken_, ITradeRegistry tradeRegistry_)
        ConsortiumGuarded(registry_)
    {
        if (
            address(registry_) == address(0) || address(settlementToken_) == address(0)
                || address(tradeRegistry_) == address(0)
        ) revert ZeroAddress();
        settlementToken = settlementToken_;
        tradeRegistry = tradeRegistry_;
        _valueDecimals = IERC20Metadata(address(settlementToken_)).decimals();
        _maxTenor = uint32(180 days);
        _gracePeriod = uint32(3 days);
        emit MaxTenorSet(0, 180 days);
        emit GracePeriodSet(0, 3 days);
    }

    modifier whenNotPaused() {
        if (_paused) revert SystemPaused();
        _;
    }

    // =================================================================== issuance

    /// @notice A core enterprise issues a voucher for `faceValue` minor units, due at `maturity`,
    ///         to `creditor`, against a confirmed invoice that `creditor` sold to it. The issuance
    ///         counts against the debtor's credit limit until fully funded or cancelled, and
    ///         reserves the invoice's amount so it cannot back more than its value.
    /// @dev Reverts SystemPaused, ZeroAddress, SelfIssuance, ZeroAmount, ValueTooLarge,
    ///      MaturityNotInFuture, MaturityBeyondTenor, NotCoreEnterprise, NotActiveMember,
    ///      CannotHoldVouchers, CreditLimitExceeded, or the trade registry's reservation errors.
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
        (uint8 debtorRoles, uint8 creditorRoles, uint256 limit) = registry.issuanceTerms(msg.sender, creditor);
        if (debtorRoles & Roles.CORE_ENTERPRISE == 0) revert NotCoreEnterprise(msg.sender);
        if (creditorRoles == 0) revert NotActiveMember(creditor);
        if (creditorRoles & Roles.VOUCHER_HOLDERS == 0) revert CannotHoldVouchers(creditor, creditorRoles);
        uint256 needed = _outstanding[msg.sender] + faceValue;
        if (needed > limit) revert CreditLimitExceeded(msg.sender, limit, needed);
        if (tradeRecordId > type(uint64).max) revert ValueTooLarge(tradeRecordId, type(uint64).max);

        slotId = ++_lastSlot;
        _storeNewSlot(_slots[slotId], maturity, faceValue, creditor, tradeRecordId);
        _outstanding[msg.sender] = needed;
        emit VoucherIssued(slotId, msg.sender, creditor, faceValue, maturity, tradeRecordId);

        tradeRegistry.reserve(tradeRecordId, creditor, msg.sender, faceValue);
    }

    /// @notice The creditor accepts (signs for) an issuance: mints the root voucher holding the
    ///         whole face value. Refused while the debtor is not active (DebtorNotActive).
    /// @return tokenId the root voucher, `slot << 32 | 1`.
    function accept(uint256 slotId) external returns (uint256 tokenId) {
        Slot storage s = _existingSlot(slotId);
        if (s.status != SlotStatus.Issued) revert UnexpectedSlotStatus(slotId, s.status);
        if (msg.sender != s.creditor) revert NotCreditor(slotId, msg.sender);
        s.status = SlotStatus.Accepted;
        tokenId = (slotId << SERIAL_BITS) | 1;
        _update(Change.Mint, 0, tokenId, msg.sender, s.faceValue);
        emit VoucherAccepted(slotId, tokenId, msg.sender);
    }

    /// @notice The debtor withdraws an issuance the creditor has not accepted yet; the credit
    ///         line and the invoice reservation are released. Refused while paused.
    function cancel(uint256 slotId) external whenNotPaused {
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
    ///      or hold a value allowance. Reverts as `_update` does.
    /// @return newTokenId the new voucher, whose parent is `fromTokenId`.
    function transferFrom(uint256 fromTokenId, address to, uint256 value)
        external
        override
        returns (uint256 newTokenId)
    {
        _spendValue(fromTokenId, msg.sender, value);
        newTokenId = _update(Change.Split, fromTokenId, 0, to, value);
        _checkOnERC3525Received(fromTokenId, newTokenId, to, value);
    }

    /// @notice Merge: moves `value` of `fromTokenId` into `toTokenId` of the same slot.
    function transferFrom(uint256 fromTokenId, uint256 toTokenId, uint256 value) external override {
        _spendValue(fromTokenId, msg.sender, value);
        _update(Change.Merge, fromTokenId, toTokenId, address(0), value);
        _checkOnERC3525Received(fromTokenId, toTokenId, _tokens[toTokenId].owner, value);
    }

    /// @notice Splits a voucher into new ones held by its holder: one per entry of `values`.
    /// @return newTokenIds the new vouchers, in the order of `values`.
    function split(uint256 tokenId, uint256[] calldata values) external returns (uint256[] memory newTokenIds) {
        if (_tokens[tokenId].owner != msg.sender) revert NotHolder(tokenId, msg.sender);
        newTokenIds = new uint256[](values.length);
        for (uint256 i = 0; i < values.length; ++i) {
            newTokenIds[i] = _update(Change.Split, tokenId, 0, msg.sender, values[i]);
        }
    }

    /// @notice Sets the value `operator` may move out of `tokenId` on behalf of its holder. An
    ///         agent (approved for the voucher or for all) may grant one too; it lapses when
    ///         the agent loses its approval or its membership.
    function approve(uint256 tokenId, address operator, uint256 value) external override {
        address owner = _ownerOf(tokenId);
        if (operator == address(0)) revert ZeroAddress();
        if (operator == owner) revert SelfApproval(owner);
        if (msg.sender != owner) {
            if (!_isAgent(owner, msg.sender, tokenId)) revert NotAuthorized(tokenId, msg.sender);
            _checkSpender(msg.sender); // a lapsed agent cannot hand its approval on either
        }
        Token storage t = _tokens[tokenId];
        if (t.flags & VALUE_APPROVED == 0) t.flags |= VALUE_APPROVED;
        _valueAllowances[tokenId][_approvalEpoch[tokenId]][operator] =
            ValueAllowance({grantor: msg.sender, amount: value >= UNLIMITED ? UNLIMITED : uint96(value)});
        emit ApprovalValue(tokenId, operator, value);
    }

    /// @notice Value `operator` may move out of `tokenId` for its current holder (0 once the
    ///         agent that granted it lost its authority).
    function allowance(uint256 tokenId, address operator) external view override returns (uint256) {
        address owner = _ownerOf(tokenId);
        ValueAllowance memory a = _valueAllowances[tokenId][_approvalEpoch[tokenId]][operator];
        if (!_grantorStillAuthorised(owner, a.grantor, tokenId)) return 0;
        return a.amount == UNLIMITED ? type(uint256).max : a.amount;
    }

    // ================================================================ ERC-721 moves

    /// @notice Moves a whole voucher (ERC-721 transfer) with all its value and lineage.
    function transferFrom(address from, address to, uint256 tokenId) public override {
        _authorizeWhole(from, tokenId);
        _update(Change.Move, tokenId, 0, to, 0);
    }

    /// @notice Whole transfer that checks a contract receiver accepts ERC-721 tokens.
    function safeTransferFrom(address from, address to, uint256 tokenId) external override {
        safeTransferFrom(from, to, tokenId, "");
    }

    /// @notice Whole transfer with data for the receiver's `onERC721Received`.
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public override {
        _authorizeWhole(from, tokenId);
        _update(Change.Move, tokenId, 0, to, 0);
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
            _update(Change.Move, fromTokenId, 0, to, 0);
            _checkOnERC721Received(holder, to, fromTokenId, "");
            return fromTokenId;
        }
        tokenId = _update(Change.Split, fromTokenId, 0, to, value);
        _checkOnERC3525Received(fromTokenId, tokenId, to, value);
    }



    /// @notice Used by the DiscountDesk only, for a discount with recourse: puts the whole
    ///         voucher `tokenId` of an overdue slot, held by `holder` (the financier), back to
    ///         `to` (the seller). Allowed after maturity and while the debtor is not active.
    function recourseTransfer(uint256 tokenId, address holder, address to) external {
        if (msg.sender != _discountDesk) revert NotDiscountDesk(msg.sender);
        if (_tokens[tokenId].owner != holder) revert NotHolder(tokenId, holder);
        uint256 slotId = tokenId >> SERIAL_BITS;
        if (_slots[slotId].overdueAt == 0) revert SlotNotOverdue(slotId);
        _update(Change.Recourse, tokenId, 0, to, 0);
    }

    /// @notice Used by the CreditDesk only, when it pays an insurance claim: from now on only the
    ///         desk funds `slotId`, splitting later payments between the slot and the insurer in
    ///         the order the policy says.
    function routeFunding(uint256 slotId) external {
        if (msg.sender != _creditDesk) revert NotCreditDesk(msg.sender);
        _existingSlot(slotId).flags |= SLOT_ROUTED;
        emit FundingRouted(slotId, msg.sender);
    }

    // ======================================================= funding and redemption

    /// @notice Pays `amount` minor units toward the slot: the debtor, or any active member on
    ///         its behalf (a parent company, a guarantor; also for a debtor suspended or removed).
    ///         Partial and early payments are allowed, and payments after maturity, which make an
    ///         overdue slot redeemable again. Pulls the settlement tokens, so the payer approves
    ///         this contract first (or pays through the CreditDesk with a permit). Every payment reduces the debt by
    ///         its amount and is recorded with its payer (SlotFunded); only the payment that
    ///         completes the slot releases the debtor's credit line. What holders wrote off is
    ///         never funded: at most face value - funded - written off. Once an
    ///         insurance claim on the slot was paid, only the credit desk funds it
    ///         (FundThroughDesk), which also funds with a permit in one transaction.
    function fund(uint256 slotId, uint256 amount) public whenNotPaused nonReentrant {
        Slot storage s = _existingSlot(slotId);
        address debtor = s.debtor;
        uint8 flags = s.flags;
        if (flags & SLOT_ROUTED != 0 && msg.sender != _creditDesk) revert FundThroughDesk(slotId, _creditDesk);
        // The debtor itself is checked by the settlement token (a suspended member cannot pay).
        if (msg.sender != debtor && registry.rolesIfActive(msg.sender) == 0) revert NotActiveMember(msg.sender);
        if (s.status != SlotStatus.Accepted) revert UnexpectedSlotStatus(slotId, s.status);
        if (amount == 0) revert ZeroAmount();
        uint256 face = s.faceValue;
        uint256 unfunded = face - s.funded;
        if (flags & SLOT_WRITTEN_OFF != 0) unfunded -= s.writtenOff;
        if (amount > unfunded) revert OverFunding(slotId, unfunded, amount);
        // Cannot overflow: funded + amount <= faceValue < 2**64.
        uint64 funded = s.funded + uint64(amount);
        s.funded = funded;
        _held += amount;
        emit SlotFunded(slotId, msg.sender, amount, funded, face);
        if (amount == unfunded) _releaseCredit(slotId, debtor, face); // nothing more to fund
        settlementToken.safeTransferFrom(msg.sender, address(this), amount);
    }


    /// @notice Pays the holder of a matured voucher of a fully funded slot its value in
    ///         settlement tokens and burns the voucher. Anyone may call it; it always pays the
    ///         holder, who must be an active member. The last redemption settles the slot.
    ///         In a slot marked overdue and not fully funded, pays the voucher its pro-rata
    ///         share of what was funded, nominal x (funded - payouts of written-off vouchers) /
    ///         (face value - their nominals), rounded down, less what it was paid before (its
    ///         nominal is its value plus those payments); the voucher stays alive for the rest,
    ///         and the rounding remainder stays in the slot (funded - redeemed, `slotInfo`) until full funding
    ///         pays every voucher its whole value.
    function redeem(uint256 tokenId) external whenNotPaused nonReentrant {
        _redeem(tokenId, false);
    }

    /// @notice The holder of a voucher of an overdue slot gives up the rest of its claim: the
    ///         voucher is paid its due share now (as `redeem` would, possibly 0), then burned;
    ///         the rest is recorded on the slot as written off (VoucherWrittenOff) and stays the
    ///         debtor's unpaid debt on record; nobody funds it any more, so the slot is complete
    ///         (and the debtor's credit line released) once the rest is funded.
    function writeOff(uint256 tokenId) external whenNotPaused nonReentrant {
        if (_tokens[tokenId].owner != msg.sender) revert NotHolder(tokenId, msg.sender);
        _redeem(tokenId, true);
    }



    /// @notice Records that a slot was not fully funded by its overdue time: maturity plus the
    ///         grace period plus every second the ledger or the settlement token was paused
    ///         since the slot was issued. Anyone may report it, strictly after that time and
    ///         not while either is paused; the lateness stays on record even after later funding.
    function markOverdue(uint256 slotId) external whenNotPaused {
        if (IPauseClock(address(settlementToken)).paused()) revert SettlementPaused();
        Slot storage s = _existingSlot(slotId);
        if (s.status != SlotStatus.Accepted) revert UnexpectedSlotStatus(slotId, s.status);
        if (s.overdueAt != 0) revert AlreadyOverdue(slotId, s.overdueAt);
        uint256 overdueFrom = overdueFromOf(slotId);
        if (block.timestamp <= overdueFrom) revert GracePeriodNotOver(slotId, overdueFrom);
        if (s.funded >= s.faceValue) revert SlotFullyFunded(slotId);
        s.overdueAt = uint32(block.timestamp);
        emit SlotOverdue(slotId, s.debtor, s.faceValue - s.funded, msg.sender);
    }

    /// @notice The time after which `slotId` may be marked overdue if still not fully funded:
    ///         maturity + grace period + seconds the ledger and the settlement token were each
    ///         paused since issue (a second in which both were paused counts for each).
    function overdueFromOf(uint256 slotId) public view returns (uint256) {
        Slot storage s = _existingSlot(slotId);
        uint256 issuedAt = s.issuedAt;
        IPauseClock token = IPauseClock(address(settlementToken));
        uint256 stopped = pausedSecondsAt(block.timestamp) - pausedSecondsAt(issuedAt)
            + token.pausedSecondsAt(block.timestamp) - token.pausedSecondsAt(issuedAt);
        return uint256(s.maturity) + _gracePeriod + stopped;
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
        _freezeCount[tokenId] += 1;
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

    /// @notice A court order or a removed holder's successor: moves the whole voucher of a
    ///         holder that is no longer active, or of a frozen voucher, to `to`, an active
    ///         member that may hold vouchers, with a reason hash. Under the consortium's
    ///         approval threshold: each operator makes the identical call, and the one that
    ///         reaches the threshold moves it (with a threshold of 1, at once). Works after
    ///         maturity and while the debtor is not active; not while paused. A frozen voucher
    ///         stays frozen until an operator lifts the freeze.
    /// @dev Reverts NotOperator, UnknownVoucher, HolderInGoodStanding, the registry's
    ///      AlreadyApproved, and `_update`'s receiver checks.
    /// @return moved whether the voucher moved in this call.
    function forceTransfer(uint256 tokenId, address to, bytes32 reasonHash) external onlyOperator returns (bool moved) {
        Token storage t = _tokens[tokenId];
        address holder = t.owner;
        if (holder == address(0)) revert UnknownVoucher(tokenId);
        if (t.flags & FROZEN == 0 && registry.rolesIfActive(holder) != 0) revert HolderInGoodStanding(tokenId, holder);
        // Bound to this episode: approvals given while the holder was suspended before (and
        // since reinstated), or while the voucher was frozen before (and since unfrozen), are
        // never counted again.
        bytes32 action = keccak256(
            abi.encode(
                this.forceTransfer.selector,
                tokenId,
                holder,
                to,
                reasonHash,
                registry.standingChangesOf(holder),
                _freezeCount[tokenId]
            )
        );
        // Accepted slither finding (reentrancy-no-eth): the call goes to the suite's own registry
        // (an immutable address), which records the approval and calls no one; the voucher's
        // state is read and written only after it, under the rules of `_update`.
        // slither-disable-next-line reentrancy-no-eth
        if (!registry.approveAction(action, msg.sender)) return false;
        _update(Change.CourtOrder, tokenId, 0, to, 0);
        emit VoucherForceTransferred(tokenId, holder, to, reasonHash, msg.sender);
        // A pledged voucher leaving the credit desk's custody ends its pledge there.
        if (holder == _creditDesk) ICustodian(holder).custodyEnded(tokenId);
        return true;
    }

    /// @notice Governance returns settlement tokens sent to the ledger by mistake: at most what
    ///         the ledger holds beyond what it owes holders (funded and not yet paid out).
    function returnExcessSettlement(address to, uint256 amount) external onlyGovernance nonReentrant {
        uint256 excess = excessSettlement();
        if (amount == 0) revert ZeroAmount();
        if (amount > excess) revert ExceedsExcess(excess, amount);
        emit ExcessSettlementReturned(to, amount, msg.sender);
        settlementToken.safeTransfer(to, amount);
    }

    /// @notice Settlement tokens held beyond what the ledger owes holders.
    function excessSettlement() public view returns (uint256) {
        uint256 balance = settlementToken.balanceOf(address(this));
        return balance > _held ? balance - _held : 0;
    }

    /// @notice Settlement tokens funded into slots and not yet paid out.
    function settlementOwed() external view returns (uint256) {
        return _held;
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
        if (period > MAX_GRACE_PERIOD) revert TenorOutOfRange(period, MAX_GRACE_PERIOD);
        emit GracePeriodSet(_gracePeriod, period);
        _gracePeriod = uint32(period);
    }

    /// @notice Governance names the DiscountDesk allowed to call `deskTransfer`.
    function setDiscountDesk(address desk) external onlyGovernance {
        emit DiscountDeskSet(_discountDesk, desk);
        _discountDesk = desk;
    }


    /// @notice Governance names the CreditDesk (pledges, credit insurance).
    function setCreditDesk(address desk) external onlyGovernance {
        emit CreditDeskSet(_creditDesk, desk);
        _creditDesk = desk;
    }

    /// @notice Governance names the contract that renders metadata URIs.
    function setDescriptor(IVoucherDescriptor descriptor) external onlyGovernance {
        emit DescriptorSet(address(_descriptor), address(descriptor));
        _descriptor = descriptor;
    }

    // ======================================================================= views

    /// @notice The issuance behind `slotId` (status None if unknown).
    /// @dev Returns the ABI encoding of `Slot` built word by word from its four storage words
    ///      (layout in `_storeNewSlot`): the compiler's own struct copy and encoder cost 800
    ///      bytes of the ledger's code. `tests/test_voucher_rules.py` checks every field.
    function slotInfo(uint256 slotId) external view returns (Slot memory) {
        Slot storage s = _slots[slotId];
        assembly ("memory-safe") {
            let p := mload(0x40)
            let w := sload(s.slot)
            mstore(p, and(w, 0xffffffffffffffffffffffffffffffffffffffff)) // debtor
            mstore(add(p, 0x20), and(shr(160, w), 0xffffffffff)) // maturity
            mstore(add(p, 0x40), and(shr(200, w), 0xff)) // status
            mstore(add(p, 0x60), and(shr(208, w), 0xffffffff)) // lastSerial
            mstore(add(p, 0x80), and(shr(240, w), 0xff)) // flags
            w := sload(add(s.slot, 1))
            mstore(add(p, 0xa0), and(w, 0xffffffffffffffff)) // faceValue
            mstore(add(p, 0xc0), and(shr(64, w), 0xffffffffffffffff)) // funded
            mstore(add(p, 0xe0), and(shr(128, w), 0xffffffffffffffff)) // redeemed
            mstore(add(p, 0x100), and(shr(192, w), 0xffffffffff)) // issuedAt
            w := sload(add(s.slot, 2))
            mstore(add(p, 0x120), and(w, 0xffffffffffffffffffffffffffffffffffffffff)) // creditor
            mstore(add(p, 0x140), and(shr(160, w), 0xffffffffffffffff)) // tradeRecordId
            mstore(add(p, 0x160), shr(224, w)) // overdueAt
            w := sload(add(s.slot, 3))
            mstore(add(p, 0x180), and(w, 0xffffffffffffffff)) // writtenOff
            mstore(add(p, 0x1a0), and(shr(64, w), 0xffffffffffffffff)) // writtenOffPaid
            return(p, 0x1c0)
        }
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


    /// @notice The CreditDesk governance named (the zero address: none).
    function creditDesk() external view returns (address) {
        return _creditDesk;
    }

    /// @notice Cash paid so far to the live voucher `tokenId` by pro-rata payouts (its value is
    ///         what it still claims; value + paid out is its nominal share of the slot).
    function paidOutOf(uint256 tokenId) external view returns (uint256) {
        return _paidOut[tokenId];
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

    /// @notice Face value of `debtor`'s issuances not yet fully funded or cancelled: what counts
    ///         against its credit limit.
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

    /// @notice Decimals of a voucher's value: the settlement token's `decimals()`, read at
    ///         deployment (2: values are in cents / fen, like the cash that redeems them).
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

    /// @dev The one write path of the ledger: every change of holder or value passes here.
    ///      - Mint: the root voucher `toId` (value = face) for `to`, the creditor accepting.
    ///      - Split: `value` of `fromId` into a new voucher for `to`; returns its id.
    ///      - Merge: `value` of `fromId` into `toId` (same slot); `to` is ignored.
    ///      - Move: the whole of `fromId` to `to`; its value allowances die (new epoch).
    ///      - CourtOrder: a Move ordered by governance.
    ///      - Burn: pays out what `fromId` is due (`_settle`): its whole value when the slot is
    ///        fully funded (then deletes it), else its pro-rata share of an overdue slot (its
    ///        value goes down by as much); returns the cash due.
    ///      - WriteOff: the same payout, then the rest of the value written off and deleted.
    ///      Rules, checked here once, in this order:
    ///      1. paused: nothing changes (SystemPaused);
    ///      2. frozen: a frozen voucher gives no value, receives none, is not burned
    ///         (VoucherFrozen); only a court order moves it;
    ///      3. clock: Mint, Split, Merge and Move only before maturity (SlotMatured); Burn and
    ///         WriteOff only at or after it (SlotNotMatured); a court order at any time;
    ///      4. membership: the giving holder is active (NotActiveMember), except under a court
    ///         order; the receiver is active (NotActiveMember) and may hold vouchers
    ///         (CannotHoldVouchers), except the seller a voucher is put back to under recourse;
    ///         a paid voucher's holder is active (it is paid);
    ///      5. watch: while the slot's debtor is not active, nothing but Burn, WriteOff and
    ///         CourtOrder (DebtorNotActive).
    ///      Invariants kept: the values of a slot's live vouchers plus its redeemed (paid out)
    ///      and written-off values equal its face value (no change creates or destroys value); `_balances` counts each
    ///      holder's live vouchers; a voucher's parent is the voucher its value was split from.
    function _update(Change change, uint256 fromId, uint256 toId, address to, uint256 value)
        private
        returns (uint256)
    {
        if (_paused) revert SystemPaused();
        uint256 slotId = (change == Change.Mint ? toId : fromId) >> SERIAL_BITS;
        Slot storage s = _slots[slotId];
        Token storage t = _tokens[fromId];
        uint256 held = change == Change.Mint ? 0 : _loadToken(t); // a root has no giving voucher
        address from = address(uint160(held));
        if (change != Change.Mint) {
            if (from == address(0)) revert UnknownVoucher(fromId);
            if ((held >> TOKEN_FLAGS) & FROZEN != 0 && change != Change.CourtOrder) revert VoucherFrozen(fromId);
        }
        if (change == Change.Merge) {
            if (fromId == toId) revert SameVoucher(fromId);
            if ((toId >> SERIAL_BITS) != slotId) revert SlotMismatch(fromId, toId);
            Token storage u = _tokens[toId];
            to = u.owner;
            if (to == address(0)) revert UnknownVoucher(toId);
            if (u.flags & FROZEN != 0) revert VoucherFrozen(toId);
        }
        if (change >= Change.Burn) {
            if (block.timestamp < s.maturity) revert SlotNotMatured(fromId, slotId, s.maturity);
            if (registry.rolesIfActive(from) == 0) revert NotActiveMember(from);
            return _settle(fromId, t, held, from, s, change == Change.WriteOff);
        }
        uint256 head = _loadSlotHead(s);
        if (change < Change.CourtOrder && block.timestamp >= uint40(head >> SLOT_MATURITY)) {
            revert SlotMatured(slotId, uint40(head >> SLOT_MATURITY));
        }
        if (to == address(0)) revert ZeroAddress();
        _checkParties(change, slotId, from, to, address(uint160(head)));

        if (change >= Change.Move) {
            _move(fromId, t, from, to);
            return fromId;
        }
        if (value == 0) revert ZeroAmount();
        if (change == Change.Mint) return _mint(s, toId, to, value);
        uint256 balance = uint56(held >> TOKEN_VALUE);
        if (value > balance) revert InsufficientValue(fromId, balance, value);
        unchecked {
            // Cannot underflow: value <= balance, so only the value field of the word changes.
            _storeToken(t, held - (value << TOKEN_VALUE));
        }
        if (change == Change.Merge) {
            unchecked {
                // Cannot overflow: both values are parts of one slot's face value, which fits in uint56.
                _tokens[toId].value += uint56(value);
            }
            emit TransferValue(fromId, toId, value);
            return toId;
        }
        return _splitOff(s, head, fromId, to, value);
    }

    /// @dev A new issuance's three storage words, each written once (a field-by-field struct
    ///      write reads and rewrites each word per field). Solidity's packing of `Slot`, from
    ///      the low bits: word 0 debtor, maturity (160), status (200), last serial (208); word 1
    ///      face value, funded (64), redeemed (128), issued at (192); word 2 creditor, trade
    ///      record (160), overdue at (224). `slotInfo` reads them back through the ABI in tests.
    ///      The caller checked every value against its field's width.
    function _storeNewSlot(Slot storage s, uint256 maturity, uint256 faceValue, address creditor, uint256 record)
        private
    {
        uint256 head = uint256(uint160(msg.sender)) | maturity << SLOT_MATURITY
            | uint256(uint8(SlotStatus.Issued)) << SLOT_STATUS;
        uint256 money = faceValue | block.timestamp << SLOT_ISSUED_AT;
        uint256 provenance = uint256(uint160(creditor)) | record << SLOT_TRADE_RECORD;
        assembly ("memory-safe") {
            sstore(s.slot, head)
            sstore(add(s.slot, 1), money)
            sstore(add(s.slot, 2), provenance)
        }
    }

    /// @dev A voucher's storage word, read once. Solidity packs `Token` from the low bits in
    ///      declaration order: owner (bits 0-159), value (160-215), parent serial (216-247),
    ///      flags (248-255); `tests/test_voucher_rules.py` reads fields back through the ABI.
    function _loadToken(Token storage t) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(t.slot)
        }
    }

    function _storeToken(Token storage t, uint256 word) private {
        assembly ("memory-safe") {
            sstore(t.slot, word)
        }
    }

    /// @dev A slot's first word, read once: debtor (bits 0-159), maturity (160-199), status
    ///      (200-207), last serial (208-239).
    function _loadSlotHead(Slot storage s) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(s.slot)
        }
    }

    /// @dev The root voucher's effects; checked by `_update`.
    function _mint(Slot storage s, uint256 tokenId, address to, uint256 value) private returns (uint256) {
        s.lastSerial = 1;
        _tokens[tokenId] = Token({owner: to, value: uint56(value), parentSerial: 0, flags: 0});
        unchecked {
            // Cannot overflow: a balance counts tokens, each minted by a transaction.
            _balances[to] += 1;
        }
        emit Transfer(address(0), to, tokenId);
        emit SlotChanged(tokenId, 0, tokenId >> SERIAL_BITS);
        emit TransferValue(0, tokenId, value);
        return tokenId;
    }

    /// @dev A split's new voucher, its value already taken from `fromId`; checked by `_update`.
    function _splitOff(Slot storage s, uint256 head, uint256 fromId, address to, uint256 value)
        private
        returns (uint256 newId)
    {
        uint256 slotId = fromId >> SERIAL_BITS;
        uint32 serial = uint32(head >> SLOT_LAST_SERIAL);
        if (serial == type(uint32).max) revert TooManyFragments(slotId);
        unchecked {
            // Cannot overflow: checked against type(uint32).max just above.
            serial += 1;
            // Cannot overflow: a balance counts tokens, each minted by a transaction.
            _balances[to] += 1;
            // Cannot overflow into other fields: the last serial was below type(uint32).max.
            head += 1 << SLOT_LAST_SERIAL;
        }
        assembly ("memory-safe") {
            sstore(s.slot, head)
        }
        newId = (slotId << SERIAL_BITS) | serial;
        _tokens[newId] = Token({owner: to, value: uint56(value), parentSerial: uint32(fromId & SERIAL_MASK), flags: 0});
        emit Transfer(address(0), to, newId);
        emit SlotChanged(newId, 0, slotId);
        emit TransferValue(fromId, newId, value);
    }

    /// @dev `_update`'s membership rules for a change that has a receiver (all but Burn).
    function _checkParties(Change change, uint256 slotId, address from, address to, address debtor) private view {
        uint8 toRoles;
        uint8 debtorRoles;
        if (change == Change.Mint) {
            (toRoles, debtorRoles) = registry.rolesIfActivePair(to, debtor);
        } else {
            uint256 packed = registry.rolesIfActiveTrio(from, to, debtor);
            uint8 fromRoles = uint8(packed);
            toRoles = uint8(packed >> 8);
            debtorRoles = uint8(packed >> 16);
            if (change != Change.CourtOrder && fromRoles == 0) revert NotActiveMember(from);
        }
        if (change < Change.CourtOrder && debtorRoles == 0) revert DebtorNotActive(slotId, debtor);
        // A voucher put back under recourse returns to its seller whatever its standing now (it
        // held the voucher once); a seller no longer active is paid nothing until reinstated, or
        // its voucher goes to a successor by court order, as any such holder's.
        if (change == Change.Recourse) return;
        if (toRoles == 0) revert NotActiveMember(to);
        if (toRoles & Roles.VOUCHER_HOLDERS == 0) revert CannotHoldVouchers(to, toRoles);
    }

    /// @dev The effects of a whole move (ERC-721 transfer, court order); checked by `_update`.
    function _move(uint256 tokenId, Token storage t, address from, address to) private {
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

    /// @dev The effects of a payout (Burn) or a write-off; checked by `_update`. Returns the
    ///      cash now due to the voucher, which the caller pays after these effects.
    ///      - Slot fully funded (funded + written off = face value): the whole value; burned.
    ///      - Overdue slot not fully funded: nominal (value + paid out before) x (funded -
    ///        written-off vouchers' payouts) / (face value - written-off vouchers' nominals),
    ///        rounded down, less what was paid out before; the voucher stays alive with its
    ///        value reduced by as much. Each payout can only grow the others' share (a voucher
    ///        written off was paid at most its share), so what is due is never negative.
    ///      - WriteOff: the same payout, then the rest of the value is written off and burned.
    function _settle(uint256 tokenId, Token storage t, uint256 word, address holder, Slot storage s, bool writeOff)
        private
        returns (uint256 paid)
    {
        uint256 slotId = tokenId >> SERIAL_BITS;
        uint256 value = uint56(word >> TOKEN_VALUE);
        uint256 before;
        bool whole;
        (paid, before, whole) = _due(tokenId, value, s, writeOff);
        // Cannot overflow: redeemed + paid <= funded <= faceValue by the slot invariant.
        uint64 redeemed = s.redeemed + uint64(paid);
        s.redeemed = redeemed;
        _held -= paid;
        if (whole || writeOff) {
            delete _tokens[tokenId];
            if (before != 0) delete _paidOut[tokenId];
            unchecked {
                // Cannot underflow: the holder owns this token.
                _balances[holder] -= 1;
            }
            emit Transfer(holder, address(0), tokenId);
            emit TransferValue(tokenId, 0, value);
            if (whole) {
                emit VoucherRedeemed(tokenId, slotId, holder, value);
            } else {
                uint64 lost = s.writtenOff + uint64(value - paid);
                s.writtenOff = lost;
                s.writtenOffPaid += uint64(before + paid);
                s.flags |= SLOT_WRITTEN_OFF;
                emit VoucherWrittenOff(tokenId, slotId, holder, value - paid, paid);
                if (s.funded + lost == s.faceValue) _releaseCredit(slotId, s.debtor, s.faceValue);
            }
        } else {
            _storeToken(t, word - (paid << TOKEN_VALUE));
            _paidOut[tokenId] = before + paid;
            s.flags |= SLOT_PAID_PRO_RATA;
            emit TransferValue(tokenId, 0, paid);
            emit VoucherPartlyPaid(tokenId, slotId, holder, paid, before + paid, value - paid);
        }
        // Settles on the change that takes the slot's live value to zero; an empty voucher
        // burned afterwards (value 0) must not settle the slot a second time.
        uint256 live = s.faceValue - redeemed;
        if (value != 0 && (live == 0 || (s.flags & SLOT_WRITTEN_OFF != 0 && live == s.writtenOff))) {
            s.status = SlotStatus.Settled;
            emit SlotSettled(slotId, s.debtor, s.overdueAt != 0);
        }
    }

    /// @dev The slot is complete (funded + written off = face value): its face value leaves the
    ///      debtor's outstanding, exactly once (no funding or write-off follows completion).
    function _releaseCredit(uint256 slotId, address debtor, uint256 face) private {
        // Cannot underflow: the face value was added to the debtor's outstanding at issue.
        _outstanding[debtor] -= face;
        emit CreditReleased(slotId, debtor, face);
    }

    /// @dev What `_settle` pays `tokenId` (value `value`) now, what it was paid out before,
    ///      and whether its slot is fully funded (so the voucher is paid whole and burned).
    function _due(uint256 tokenId, uint256 value, Slot storage s, bool writeOff)
        private
        view
        returns (uint256 paid, uint256 before, bool whole)
    {
        uint256 face = s.faceValue;
        uint256 funded = s.funded;
        uint256 lost = 0; // stays 0 until a write-off (flag) makes word 3 worth reading
        uint256 lostPaid = 0;
        if (funded < face && s.flags & SLOT_WRITTEN_OFF != 0) {
            lost = s.writtenOff;
            lostPaid = s.writtenOffPaid;
        }
        uint256 slotId = tokenId >> SERIAL_BITS;
        whole = funded + lost >= face;
        if (whole) {
            if (writeOff) revert SlotFullyFunded(slotId);
            // What earlier pro-rata payouts paid is returned so the burn clears its record.
            return (value, s.flags & SLOT_PAID_PRO_RATA != 0 ? _paidOut[tokenId] : 0, true);
        }
        if (s.overdueAt == 0) {
            if (writeOff) revert SlotNotOverdue(slotId);
            revert SlotNotFullyFunded(tokenId, slotId, funded, face);
        }
        before = _paidOut[tokenId];
        // Cannot overflow: a nominal fits in 56 bits and the funded cash in 64.
        paid = (value + before) * (funded - lostPaid) / (face - lost - lostPaid) - before;
        if (paid == 0 && !writeOff) revert NothingToPay(tokenId);
    }

    /// @dev Pays a matured voucher's holder what is due to it now (`_settle`).
    function _redeem(uint256 tokenId, bool writeOff) private {
        address holder = _tokens[tokenId].owner;
        uint256 paid = _update(writeOff ? Change.WriteOff : Change.Burn, tokenId, 0, address(0), 0);
        if (paid != 0) settlementToken.safeTransfer(holder, paid);
    }

    /// @dev Holders, operators approved for all, and the voucher's approved address move any
    ///      value; anyone else spends a value allowance, which lapses with its grantor's
    ///      authority. A spender that is not the holder must be an active member.
    function _spendValue(uint256 tokenId, address spender, uint256 value) private {
        address owner = _tokens[tokenId].owner;
        if (owner == address(0)) revert UnknownVoucher(tokenId);
        if (spender == owner) return;
        _checkSpender(spender);
        if (_isAgent(owner, spender, tokenId)) return;
        uint256 epoch = _approvalEpoch[tokenId];
        ValueAllowance storage a = _valueAllowances[tokenId][epoch][spender];
        uint96 allowed = a.amount;
        if (!_grantorStillAuthorised(owner, a.grantor, tokenId)) allowed = 0;
        if (allowed < value) revert InsufficientAllowance(tokenId, spender, allowed, value);
        if (allowed != UNLIMITED) {
            unchecked {
                // Cannot underflow: allowed >= value.
                a.amount = allowed - uint96(value);
            }
        }
    }

    /// @dev The caller of a whole transfer: the holder itself or an agent of it (an active member).
    function _authorizeWhole(address from, uint256 tokenId) private view {
        address owner = _tokens[tokenId].owner;
        if (owner == address(0)) revert UnknownVoucher(tokenId);
        if (owner != from) revert NotHolder(tokenId, from);
        if (msg.sender != owner) {
            if (!_isAgent(owner, msg.sender, tokenId)) revert NotAuthorized(tokenId, msg.sender);
            _checkSpender(msg.sender);
        }
    }

    /// @dev Whether `account` is approved for all of `owner`'s vouchers or for `tokenId`.
    function _isAgent(address owner, address account, uint256 tokenId) private view returns (bool) {
        return _operatorApprovals[owner][account] || _tokenApprovals[tokenId] == account;
    }

    /// @dev A value allowance granted by the holder stands; one granted by an agent stands
    ///      only while the agent is still approved and an active member.
    function _grantorStillAuthorised(address owner, address grantor, uint256 tokenId) private view returns (bool) {
        if (grantor == owner) return true;
        if (grantor == address(0) || !_isAgent(owner, grantor, tokenId)) return false;
        return registry.rolesIfActive(grantor) != 0;
    }

    /// @dev An approval outlives the holder's trust in its operator: whoever moves a voucher
    ///      for its holder must be an active member when it does, so a suspended or removed
    ///      member (or an outsider given an approval) moves nothing.
    function _checkSpender(address spender) private view {
        if (registry.rolesIfActive(spender) == 0) revert NotActiveMember(spender);
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
