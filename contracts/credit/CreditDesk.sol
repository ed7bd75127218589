// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC3525Receiver} from "../interfaces/IERC3525.sol";
import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {ReceivableVoucher} from "../voucher/ReceivableVoucher.sol";
import {Roles} from "../common/Roles.sol";
import {NotActiveMember, ZeroAmount} from "../common/ConsortiumErrors.sol";

/// @notice The settlement token's pause, as the desk reads it.
interface IPausable {
    function paused() external view returns (bool);
}

/// @title CreditDesk
/// @notice What protects a voucher's holders when a debtor fails, besides the ledger's own
///         pro-rata payouts and write-offs:
///         - **pledges**: a holder pledges a voucher (whole, or a part split off) to a financier
///           as collateral for a loan of a stated secured amount. The desk keeps the voucher in
///           custody, so it cannot move, split, merge or be discounted. Its payouts go first to
///           the pledgee, up to the secured amount, and the rest to the pledgor. The pledgee
///           may release it, or, from the loan's due date until maturity, enforce it: the
///           secured part becomes the pledgee's voucher and the rest returns to the pledgor.
///         - **credit insurance**: an insurer offers cover on a slot, escrowing the covered
///           amount here; the debtor or a holder buys it for a premium paid to the insurer.
///           Once the slot is marked overdue (past its grace period), anyone triggers the claim:
///           the escrow pays the slot's unfunded part up to the cover, once, and the insurer
///           takes over that share of the claim against the debtor (subrogation). From then on
///           the slot is funded only through this desk (`pay`), which splits each payment
///           between the slot and the insurer in the policy's order.
///         - **paying on a payer's behalf**: `pay` and `payWithPermit` (one transaction with an
///           EIP-2612 permit) fund a slot for any active member or the debtor.
/// @dev The desk is admitted to the consortium as a member (so it may hold vouchers and cash);
///      governance names it in the ledger (`setCreditDesk`). Its cash is the insurers' escrow
///      and pledge payouts not yet distributed; neither is ever mixed: what a pledged voucher
///      received is read from the ledger (value at pledge - value now, or all of it once
///      redeemed), and escrow is counted per policy.
contract CreditDesk is IERC165, IERC3525Receiver, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint8 public constant ROLE_FINANCIER = Roles.FINANCIER;
    uint8 public constant ROLE_INSURER = Roles.INSURER;
    uint256 private constant SERIAL_BITS = 32;

    /// @notice Who is repaid first from what the debtor (or anyone) pays after a claim.
    enum Recovery {
        HoldersFirst, // the slot is funded whole first, then the insurer is repaid
        InsurerFirst // the insurer is repaid its claim first, then the slot is funded
    }

    enum CoverState {
        None,
        Offered, // escrowed by the insurer, not bought yet
        Active, // bought: the premium was paid
        Claimed, // the claim was paid into the slot; recoveries follow the policy's order
        Closed // withdrawn, or expired with the slot fully funded
    }

    /// @dev A voucher in custody under a pledge. Amounts in settlement minor units.
    struct Pledge {
        address pledgor;
        uint40 dueDate;
        address pledgee;
        uint56 nominal; // the voucher's value when pledged (before maturity, so nothing paid yet)
        uint56 secured; // the loan the pledge secures: the pledgee's share of payouts, at most
        uint56 pledgeePaid; // payouts passed on to the pledgee
        uint56 distributed; // payouts passed on to either
    }

    /// @dev One policy per slot.
    struct Policy {
        address insurer;
        uint40 offerDeadline;
        CoverState state;
        Recovery order;
        address buyer;
        uint64 cover;
        uint64 premium;
        uint64 claimPaid;
        uint64 recovered;
    }

    IConsortiumRegistry public immutable registry;
    ReceivableVoucher public immutable voucher;
    IERC20 public immutable settlementToken;

    mapping(uint256 tokenId => Pledge) private _pledges;
    mapping(uint256 slot => Policy) private _policies;
    /// @dev Cash the desk owes an account it could not pay at once (the account could not hold
    ///      settlement tokens then: suspended, removed); the account withdraws it.
    mapping(address account => uint256) private _held;
    /// @dev Set only while `pledge` takes a part of a voucher in: the desk accepts no other value.
    bool private transient _intake;

    /// @notice Emitted by `pledge`: `pledgor` put `tokenId` (its value `value`) in custody as
    ///         collateral for `pledgee`'s loan of `secured`, due `dueDate`.
    event VoucherPledged(
        uint256 indexed tokenId,
        address indexed pledgor,
        address indexed pledgee,
        uint256 value,
        uint256 secured,
        uint256 dueDate
    );
    /// @notice Emitted by `releasePledge`: the pledgee gave up its claim. Before maturity the
    ///         voucher went back to the pledgor (`returned`); after it, it stays in custody and
    ///         every further payout goes to the pledgor.
    event PledgeReleased(uint256 indexed tokenId, address indexed pledgee, address indexed pledgor, bool returned);
    /// @notice Emitted by `enforcePledge`: the loan was not repaid by its due date; the pledgee
    ///         took `value` (the secured amount) as voucher `pledgeeTokenId`.
    /// @param restReturned the rest of the voucher (if any) went back to the pledgor; false: the
    ///        pledgor could not receive it, so it stays in custody, released (`reclaim`).
    event PledgeEnforced(
        uint256 indexed tokenId,
        address indexed pledgee,
        address indexed pledgor,
        uint256 pledgeeTokenId,
        uint256 value,
        bool restReturned
    );
    /// @notice Emitted by `distribute` (and `collect`): payouts the pledged voucher received were
    ///         passed on, `toPledgee` first up to what the pledge secures, `toPledgor` the rest.
    /// @param closed the voucher was redeemed whole: the pledge is over.
    event PledgePayout(
        uint256 indexed tokenId,
        address indexed pledgee,
        address indexed pledgor,
        uint256 toPledgee,
        uint256 toPledgor,
        bool closed
    );
    /// @notice Emitted by `offerCover`: `insurer` escrowed `cover` for slot `slot`, for sale at
    ///         `premium` until `offerDeadline`.
    event CoverOffered(
        uint256 indexed slot,
        address indexed insurer,
        uint256 cover,
        uint256 premium,
        Recovery order,
        uint256 offerDeadline
    );
    /// @notice Emitted by `buyCover`: `buyer` (the debtor or a holder) paid `premium` to the
    ///         insurer; the cover is in force.
    event CoverBought(uint256 indexed slot, address indexed buyer, address indexed insurer, uint256 premium);
    /// @notice Emitted by `withdrawCover`: the insurer took its escrow back (an offer never
    ///         bought, or cover of a slot funded in full without a claim).
    event CoverWithdrawn(uint256 indexed slot, address indexed insurer, uint256 refunded);
    /// @notice Emitted by `claim`: the escrow paid `paid` into the overdue slot (its unfunded
    ///         part, up to the cover) and `refunded` the rest to the insurer, which now holds a
    ///         claim of `paid` against the debtor (subrogation).
    event ClaimPaid(uint256 indexed slot, address indexed insurer, address indexed trigger, uint256 paid, uint256 refunded);
    /// @notice Emitted by `pay` and `payWithPermit`: `payer` paid `toSlot` into the slot and,
    ///         after a claim, `toInsurer` to the insurer, in the policy's order.
    /// @param insurerOwed what the debtor still owes the insurer after this payment.
    event PaidThroughDesk(
        uint256 indexed slot, address indexed payer, uint256 toSlot, uint256 toInsurer, uint256 insurerOwed
    );

    /// @notice Emitted when the desk could not pay `account` at once (it may not hold settlement
    ///         tokens now: suspended or removed): `amount` is kept for it until it `withdraw`s.
    event PaymentHeld(address indexed account, uint256 amount, uint256 heldTotal);
    /// @notice Emitted by the `redirectHeld` call that reaches the approval threshold: the cash
    ///         held for `account` went to `to` (a successor, a court's order).
    event HeldRedirected(
        address indexed account, address indexed to, uint256 amount, bytes32 reasonHash, address operator
    );
    /// @notice Emitted by `withdraw`: `account` took the cash the desk kept for it.
    event PaymentWithdrawn(address indexed account, uint256 amount);
    /// @notice Emitted by `custodyEnded`: a court order took pledged voucher `tokenId` out of the
    ///         desk's custody; what it had received was passed on and the pledge is over.
    event PledgeEnded(uint256 indexed tokenId, address indexed pledgee, address indexed pledgor);
    /// @notice Emitted by `reclaim`: the pledgor took back a voucher kept in custody after its
    ///         pledge was released or enforced while the pledgor could not receive it.
    event VoucherReclaimed(uint256 indexed tokenId, address indexed pledgor);

    /// @notice `pledge` of a voucher the caller does not hold; `releasePledge`, `enforcePledge`
    ///         by anyone but the pledgee (`account`).
    error NotHolder(uint256 tokenId, address account);
    /// @notice `pledge` of a frozen voucher.
    error VoucherFrozen(uint256 tokenId);
    /// @notice `pledge` of a voucher already pledged (in the desk's custody).
    error AlreadyPledged(uint256 tokenId);
    /// @notice `pledge` of more value than the voucher holds.
    error ValueAboveVoucher(uint256 value, uint256 voucherValue);
    /// @notice `pledge` securing more than the value pledged.
    error SecuredAboveValue(uint256 secured, uint256 value);
    /// @notice `pledge` naming the caller as its own pledgee.
    error SelfPledge(address account);
    /// @notice `pledge` to an account that is not an active member with the financier role (or
    ///         to the desk itself).
    error NotFinancier(address account);
    /// @notice `pledge` whose due date is not after now and before the slot's maturity.
    error DueDateOutOfRange(uint256 dueDate, uint256 now_, uint256 maturity);
    /// @notice `releasePledge`, `enforcePledge`, `distribute` or `collect` of a voucher not
    ///         pledged.
    error NotPledged(uint256 tokenId);
    /// @notice `releasePledge` or `enforcePledge` of a pledge that secures nothing more: released
    ///         already, or the rest of an enforced pledge kept in custody.
    error NothingSecured(uint256 tokenId);
    /// @notice A payment by the desk while the settlement token is paused: nothing moves.
    error SettlementPaused();
    /// @notice `enforcePledge` before the loan's due date.
    error PledgeNotDue(uint256 tokenId, uint256 dueDate);
    /// @notice `enforcePledge` at or after the slot's maturity: the voucher cannot move any more,
    ///         and its payouts already go to the pledgee first.
    error EnforcementClosed(uint256 tokenId, uint256 maturity);
    /// @notice `distribute` or `collect` when the pledged voucher received nothing new.
    error NothingToDistribute(uint256 tokenId);
    /// @notice `distribute` of a pledged voucher a court order took out of custody.
    error NotInCustody(uint256 tokenId, address holder);
    /// @notice `offerCover` by an account that is not an active member with the insurer role.
    error NotInsurer(address account);
    /// @notice `offerCover` of a slot that is not accepted, or at or after its maturity;
    ///         `buyCover` at or after maturity.
    error SlotNotCoverable(uint256 slot);
    /// @notice `offerCover` of a slot with a policy in force or claimed, or offered and still
    ///         open (an offer past its deadline, never bought, gives way and is refunded).
    error SlotAlreadyCovered(uint256 slot);
    /// @notice `offerCover` of more than the slot's face value.
    error CoverAboveFace(uint256 cover, uint256 faceValue);
    /// @notice `offerCover` with a deadline in the past, or `buyCover` after it.
    error OfferExpired(uint256 deadline, uint256 now_);
    /// @notice `buyCover`, `claim` or `withdrawCover` of a slot whose policy is not in the
    ///         state the call needs.
    error UnexpectedCoverState(uint256 slot, CoverState state);
    /// @notice `buyCover` naming terms (insurer, cover, premium, order) other than those on offer.
    error TermsChanged(uint256 slot);
    /// @notice `redirectHeld` by anyone but an operator.
    error NotOperator(address account);
    /// @notice `redirectHeld` of what the desk holds for an account that may hold settlement
    ///         tokens (it withdraws itself).
    error AccountInGoodStanding(address account);
    /// @notice `buyCover` by anyone but the slot's debtor or the holder of `tokenId`, a voucher
    ///         of that slot.
    error NotDebtorOrHolder(uint256 slot, address account);
    /// @notice `withdrawCover` by anyone but the policy's insurer.
    error NotPolicyInsurer(uint256 slot, address account);
    /// @notice `withdrawCover` of cover in force on a slot not yet fully funded.
    error CoverInForce(uint256 slot);
    /// @notice `claim` before the slot is marked overdue (after maturity and its grace period).
    error ClaimNotDue(uint256 slot);
    /// @notice `claim` of a slot already fully funded: nothing to pay.
    error NothingToClaim(uint256 slot);
    /// @notice `pay` of more than the slot's unfunded part plus what the debtor owes the insurer.
    error OverPayment(uint256 slot, uint256 payable_, uint256 amount);
    /// @notice `offerCover` with a premium above 2**64 - 1 or a deadline above 2**40 - 1.
    error AmountTooLarge(uint256 value, uint256 max);
    /// @notice Value sent to the desk other than by `pledge` (a merge into a pledged voucher).
    error UnsolicitedValue(uint256 tokenId);
    /// @notice `custodyEnded` called by anyone but the ledger.
    error NotLedger(address caller);
    /// @notice `withdraw` by an account the desk keeps nothing for.
    error NothingHeld(address account);
    /// @notice `reclaim` by anyone but the pledgor, or of a voucher whose pledge still secures
    ///         something for its pledgee.
    error NotReclaimable(uint256 tokenId, address caller);

    constructor(IConsortiumRegistry registry_, ReceivableVoucher voucher_) {
        registry = registry_;
        voucher = voucher_;
        settlementToken = voucher_.settlementToken();
    }

    // ==================================================================== pledges

    /// @notice The holder pledges `value` of voucher `tokenId` (all of it, or a part split off)
    ///         to `pledgee`, an active financier, as collateral for a loan of `secured`, due at
    ///         `dueDate` (after now, before the slot's maturity). The caller approves the desk for
    ///         the voucher first (ERC-721 `approve`, or a value allowance for a part).
    /// @return pledgedId the voucher in custody: `tokenId` itself, or the part split off it.
    function pledge(uint256 tokenId, uint256 value, address pledgee, uint256 secured, uint256 dueDate)
        external
        nonReentrant
        returns (uint256 pledgedId)
    {
        if (_pledges[tokenId].pledgee != address(0)) revert AlreadyPledged(tokenId);
        // Accepted slither finding (unused-return): tokenInfo answers five fields; this reads only those it needs.
        // slither-disable-next-line unused-return
        (address holder,, uint256 tokenValue,, bool frozen) = voucher.tokenInfo(tokenId);
        if (holder != msg.sender) revert NotHolder(tokenId, msg.sender);
        if (frozen) revert VoucherFrozen(tokenId);
        if (value == 0 || secured == 0) revert ZeroAmount();
        if (value > tokenValue) revert ValueAboveVoucher(value, tokenValue);
        if (secured > value) revert SecuredAboveValue(secured, value);
        if (pledgee == msg.sender) revert SelfPledge(msg.sender);
        if (pledgee == address(this) || registry.rolesIfActive(pledgee) & ROLE_FINANCIER == 0) {
            revert NotFinancier(pledgee);
        }
        uint256 maturity = voucher.maturityOf(tokenId >> SERIAL_BITS);
        if (dueDate <= block.timestamp || dueDate >= maturity) {
            revert DueDateOutOfRange(dueDate, block.timestamp, maturity);
        }
        if (value == tokenValue) {
            pledgedId = tokenId;
            // Accepted slither finding (reentrancy-no-eth): the call goes to the suite's own ledger (an
            // immutable address), which calls back only this desk's view `onERC3525Received`; every
            // entry point of the desk is nonReentrant, and the record written after it needs its answer.
            // slither-disable-next-line reentrancy-no-eth
            voucher.transferFrom(msg.sender, address(this), tokenId);
        } else {
            _intake = true;
            // Accepted slither finding (reentrancy-no-eth): the call goes to the suite's own ledger (an
            // immutable address), which calls back only this desk's view `onERC3525Received`; every
            // entry point of the desk is nonReentrant, and the record written after it needs its answer.
            // slither-disable-next-line reentrancy-no-eth
            pledgedId = voucher.transferFrom(tokenId, address(this), value);
            _intake = false;
        }
        _pledges[pledgedId] = Pledge({
            pledgor: msg.sender,
            dueDate: uint40(dueDate),
            pledgee: pledgee,
            nominal: uint56(value),
            secured: uint56(secured),
            pledgeePaid: 0,
            distributed: 0
        });
        emit VoucherPledged(pledgedId, msg.sender, pledgee, value, secured, dueDate);
    }

    /// @notice The pledgee gives up its claim (its loan was repaid). Before maturity the voucher
    ///         returns to the pledgor (if the pledgor cannot hold vouchers now, it stays in
    ///         custody, released, until the pledgor `reclaim`s it); after maturity it stays in
    ///         custody (it cannot move) and every further payout goes to the pledgor.
    function releasePledge(uint256 tokenId) external nonReentrant {
        Pledge storage p = _pledgeOf(tokenId);
        if (msg.sender != p.pledgee) revert NotHolder(tokenId, msg.sender);
        if (p.secured == p.pledgeePaid) revert NothingSecured(tokenId);
        address pledgor = p.pledgor;
        p.secured = p.pledgeePaid; // the pledgee gives up what it has not received
        bool returned = block.timestamp < voucher.maturityOf(tokenId >> SERIAL_BITS) && _giveBack(tokenId, pledgor);
        emit PledgeReleased(tokenId, msg.sender, pledgor, returned);
    }

    /// @notice The pledgor takes back a voucher the desk kept after its pledge was released or
    ///         enforced while the pledgor could not receive it (suspended then), before maturity.
    function reclaim(uint256 tokenId) external nonReentrant {
        Pledge storage p = _pledgeOf(tokenId);
        if (msg.sender != p.pledgor || p.secured != p.pledgeePaid) revert NotReclaimable(tokenId, msg.sender);
        delete _pledges[tokenId];
        emit VoucherReclaimed(tokenId, msg.sender);
        voucher.transferFrom(address(this), msg.sender, tokenId);
    }

    /// @dev Returns a voucher in custody to its pledgor and ends its pledge; if the pledgor may
    ///      not hold vouchers now, the voucher stays in custody, released (see `reclaim`).
    function _giveBack(uint256 tokenId, address pledgor) private returns (bool returned) {
        try voucher.transferFrom(address(this), pledgor, tokenId) {
            delete _pledges[tokenId];
            return true;
        } catch {
            return false;
        }
    }

    /// @notice The pledgee enforces an unpaid loan, from its due date until the slot's maturity:
    ///         it receives the secured amount as a voucher of its own (the whole voucher when
    ///         the pledge secures all of it), and the rest returns to the pledgor (or stays in
    ///         custody, released, while the pledgor cannot hold vouchers: `reclaim`).
    /// @return pledgeeTokenId the voucher the pledgee now holds.
    function enforcePledge(uint256 tokenId) external nonReentrant returns (uint256 pledgeeTokenId) {
        Pledge memory p = _pledgeOf(tokenId);
        if (msg.sender != p.pledgee) revert NotHolder(tokenId, msg.sender);
        if (p.secured == p.pledgeePaid) revert NothingSecured(tokenId);
        if (block.timestamp < p.dueDate) revert PledgeNotDue(tokenId, p.dueDate);
        uint256 maturity = voucher.maturityOf(tokenId >> SERIAL_BITS);
        if (block.timestamp >= maturity) revert EnforcementClosed(tokenId, maturity);
        bool restReturned = true;
        if (p.secured == p.nominal) {
            delete _pledges[tokenId];
            pledgeeTokenId = tokenId;
            // Accepted slither finding (reentrancy-no-eth): the call goes to the suite's own ledger (an
            // immutable address), which calls back only this desk's view `onERC3525Received`; every
            // entry point of the desk is nonReentrant, and the record written after it needs its answer.
            // slither-disable-next-line reentrancy-no-eth
            voucher.transferFrom(address(this), p.pledgee, tokenId);
        } else {
            // The rest goes back to the pledgor, or stays in custody, released, while it cannot
            // receive it (`reclaim`); either way nothing more is secured.
            Pledge storage rest = _pledges[tokenId];
            rest.nominal = uint56(p.nominal - p.secured);
            rest.secured = 0;
            // Accepted slither finding (reentrancy-no-eth): the call goes to the suite's own ledger (an
            // immutable address), which calls back only this desk's view `onERC3525Received`; every
            // entry point of the desk is nonReentrant, and the record written after it needs its answer.
            // slither-disable-next-line reentrancy-no-eth
            pledgeeTokenId = voucher.transferFrom(tokenId, p.pledgee, p.secured);
            restReturned = _giveBack(tokenId, p.pledgor);
        }
        emit PledgeEnforced(tokenId, p.pledgee, p.pledgor, pledgeeTokenId, p.secured, restReturned);
    }

    /// @notice Redeems a pledged voucher at the ledger (its whole value, or its pro-rata share of
    ///         an overdue slot) and passes the cash on (`distribute`).
    function collect(uint256 tokenId) external nonReentrant {
        _pledgeOf(tokenId);
        // Accepted slither finding (reentrancy-no-eth): the call goes to the suite's own ledger (an
        // immutable address), which calls back only this desk's view `onERC3525Received`; every
        // entry point of the desk is nonReentrant, and the record written after it needs its answer.
        // slither-disable-next-line reentrancy-no-eth
        voucher.redeem(tokenId);
        _distribute(tokenId);
    }

    /// @notice Passes on what a pledged voucher received since the last call (a keeper may have
    ///         redeemed it at the ledger directly): to the pledgee first, up to the secured
    ///         amount, then to the pledgor. Anyone may call it.
    function distribute(uint256 tokenId) external nonReentrant {
        _distribute(tokenId);
    }

    function _distribute(uint256 tokenId) private {
        Pledge storage p = _pledgeOf(tokenId);
        // Accepted slither finding (unused-return): tokenInfo answers five fields; this reads only those it needs.
        // slither-disable-next-line unused-return
        (address holder,, uint256 value,,) = voucher.tokenInfo(tokenId);
        uint256 received = 0;
        if (holder == address(this)) {
            received = p.nominal - value;
        } else if (holder == address(0)) {
            received = p.nominal; // redeemed whole: the desk never writes a voucher off
        } else {
            revert NotInCustody(tokenId, holder);
        }
        uint256 fresh = received - p.distributed;
        if (fresh == 0) revert NothingToDistribute(tokenId);
        uint256 owed = p.secured - p.pledgeePaid;
        uint256 toPledgee = fresh < owed ? fresh : owed;
        uint256 toPledgor = fresh - toPledgee;
        address pledgee = p.pledgee;
        address pledgor = p.pledgor;
        bool closed = holder == address(0);
        if (closed) {
            delete _pledges[tokenId];
        } else {
            p.pledgeePaid += uint56(toPledgee);
            p.distributed = uint56(received);
        }
        emit PledgePayout(tokenId, pledgee, pledgor, toPledgee, toPledgor, closed);
        _pay(pledgee, toPledgee);
        _pay(pledgor, toPledgor);
    }

    /// @notice Used by the ledger only: a court order took voucher `tokenId` out of the desk's
    ///         custody. What the pledged voucher had received is passed on (pledgee first) and
    ///         the pledge is over: the desk holds the voucher no more, and will not be paid for it.
    function custodyEnded(uint256 tokenId) external nonReentrant {
        if (msg.sender != address(voucher)) revert NotLedger(msg.sender);
        Pledge storage p = _pledges[tokenId];
        if (p.pledgee == address(0)) return; // a voucher sent to the desk by mistake
        // Accepted slither finding (unused-return): tokenInfo answers five fields; this reads only those it needs.
        // slither-disable-next-line unused-return
        (,, uint256 value,,) = voucher.tokenInfo(tokenId); // a move keeps the value
        uint256 fresh = p.nominal - value - p.distributed;
        uint256 owed = p.secured - p.pledgeePaid;
        uint256 toPledgee = fresh < owed ? fresh : owed;
        (address pledgee, address pledgor) = (p.pledgee, p.pledgor);
        delete _pledges[tokenId];
        emit PledgeEnded(tokenId, pledgee, pledgor);
        if (fresh != 0) emit PledgePayout(tokenId, pledgee, pledgor, toPledgee, fresh - toPledgee, true);
        _pay(pledgee, toPledgee);
        _pay(pledgor, fresh - toPledgee);
    }

    /// @notice Takes the cash the desk kept for the caller (`PaymentHeld`).
    function withdraw() external nonReentrant {
        uint256 amount = _held[msg.sender];
        if (amount == 0) revert NothingHeld(msg.sender);
        delete _held[msg.sender];
        emit PaymentWithdrawn(msg.sender, amount);
        settlementToken.safeTransfer(msg.sender, amount);
    }

    /// @notice A court order or a removed member's successor: sends the cash the desk holds for
    ///         `account`, which may not hold settlement tokens (removed, or suspended), to `to`,
    ///         with a reason hash. Under the consortium's approval threshold, as the ledger's
    ///         `forceTransfer`: each operator makes the identical call; the one that reaches the
    ///         threshold moves it.
    /// @return moved whether the cash moved in this call.
    function redirectHeld(address account, address to, bytes32 reasonHash) external nonReentrant returns (bool moved) {
        if (!registry.isOperator(msg.sender)) revert NotOperator(msg.sender);
        if (registry.mayHoldSettlement(account)) revert AccountInGoodStanding(account);
        uint256 amount = _held[account];
        if (amount == 0) revert NothingHeld(account);
        // Bound to this episode: the amount held and the account's standing changes.
        bytes32 action = keccak256(
            abi.encode(
                this.redirectHeld.selector, account, to, reasonHash, amount, registry.standingChangesOf(account)
            )
        );
        // Accepted slither finding (reentrancy-no-eth): the call goes to the suite's own registry
        // (an immutable address), which records the approval and calls no one; the held cash is
        // read and cleared only after it, in this nonReentrant call (as the ledger's forceTransfer).
        // slither-disable-next-line reentrancy-no-eth
        if (!registry.approveAction(action, msg.sender)) return false;
        delete _held[account];
        emit HeldRedirected(account, to, amount, reasonHash, msg.sender);
        settlementToken.safeTransfer(to, amount);
        return true;
    }

    /// @notice Cash the desk keeps for `account` until it withdraws it.
    function heldFor(address account) external view returns (uint256) {
        return _held[account];
    }

    /// @dev Pays `to` now, or keeps the amount for it when it may not hold settlement tokens
    ///      (a suspended pledgor or insurer must not block what others are owed). While the
    ///      token is paused nothing moves: the whole call reverts (SettlementPaused).
    function _pay(address to, uint256 amount) private {
        if (amount == 0 || settlementToken.trySafeTransfer(to, amount)) return;
        if (IPausable(address(settlementToken)).paused()) revert SettlementPaused();
        uint256 total = _held[to] + amount;
        _held[to] = total;
        emit PaymentHeld(to, amount, total);
    }

    /// @notice The pledge on `tokenId` (pledgee 0 if none).
    function pledgeOf(uint256 tokenId) external view returns (Pledge memory) {
        return _pledges[tokenId];
    }

    function _pledgeOf(uint256 tokenId) private view returns (Pledge storage p) {
        p = _pledges[tokenId];
        if (p.pledgee == address(0)) revert NotPledged(tokenId);
    }

    /// @notice ERC-3525: the desk takes value only from its own `pledge` (a part split off);
    ///         a merge into a pledged voucher would change the collateral, and is refused.
    function onERC3525Received(address, uint256, uint256 toTokenId, uint256, bytes calldata)
        external
        view
        returns (bytes4)
    {
        if (msg.sender != address(voucher) || !_intake) revert UnsolicitedValue(toTokenId);
        return IERC3525Receiver.onERC3525Received.selector;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC3525Receiver).interfaceId;
    }

    // ========================================================== credit insurance

    /// @notice An insurer offers to cover `cover` of slot `slot` (at most its face value) for
    ///         `premium`, until `offerDeadline` (and the slot's maturity). The cover is escrowed
    ///         here now, pulled from the insurer (which approves the desk first), so a claim is
    ///         always paid. `order` says who is repaid first from later payments after a claim.
    function offerCover(uint256 slot, uint256 cover, uint256 premium, Recovery order, uint256 offerDeadline)
        external
        nonReentrant
    {
        if (registry.rolesIfActive(msg.sender) & ROLE_INSURER == 0) revert NotInsurer(msg.sender);
        ReceivableVoucher.Slot memory s = voucher.slotInfo(slot);
        if (s.status != ReceivableVoucher.SlotStatus.Accepted || block.timestamp >= s.maturity) {
            revert SlotNotCoverable(slot);
        }
        Policy storage old = _policies[slot];
        CoverState state = old.state;
        if (state == CoverState.Offered && block.timestamp > old.offerDeadline) {
            // An offer nobody bought in time gives way: its escrow goes back to its insurer.
            old.state = CoverState.Closed;
            emit CoverWithdrawn(slot, old.insurer, old.cover);
            _pay(old.insurer, old.cover);
        } else if (state != CoverState.None && state != CoverState.Closed) {
            revert SlotAlreadyCovered(slot);
        }
        if (cover == 0) revert ZeroAmount();
        if (cover > s.faceValue) revert CoverAboveFace(cover, s.faceValue);
        if (offerDeadline < block.timestamp) revert OfferExpired(offerDeadline, block.timestamp);
        if (premium > type(uint64).max) revert AmountTooLarge(premium, type(uint64).max);
        if (offerDeadline > type(uint40).max) revert AmountTooLarge(offerDeadline, type(uint40).max);
        _policies[slot] = Policy({
            insurer: msg.sender,
            offerDeadline: uint40(offerDeadline),
            state: CoverState.Offered,
            order: order,
            buyer: address(0),
            cover: uint64(cover),
            premium: uint64(premium),
            claimPaid: 0,
            recovered: 0
        });
        emit CoverOffered(slot, msg.sender, cover, premium, order, offerDeadline);
        settlementToken.safeTransferFrom(msg.sender, address(this), cover);
    }

    /// @notice The slot's debtor, or the holder of `tokenId` (a voucher of that slot), buys the
    ///         cover offered, on the terms it names (the insurer could otherwise withdraw and
    ///         re-offer under it): the premium goes from the buyer to the insurer (the buyer
    ///         approves the desk first). Before the offer's deadline and the slot's maturity; the
    ///         buyer is an active member (NotActiveMember).
    function buyCover(uint256 slot, uint256 tokenId, address insurer, uint256 cover, uint256 premium, Recovery order)
        external
        nonReentrant
    {
        if (registry.rolesIfActive(msg.sender) == 0) revert NotActiveMember(msg.sender);
        Policy storage p = _policies[slot];
        if (p.state != CoverState.Offered) revert UnexpectedCoverState(slot, p.state);
        if (p.insurer != insurer || p.cover != cover || p.premium != premium || p.order != order) {
            revert TermsChanged(slot);
        }
        if (block.timestamp > p.offerDeadline) revert OfferExpired(p.offerDeadline, block.timestamp);
        ReceivableVoucher.Slot memory s = voucher.slotInfo(slot);
        if (block.timestamp >= s.maturity) revert SlotNotCoverable(slot);
        if (msg.sender != s.debtor) {
            // Accepted slither finding (unused-return): tokenInfo answers five fields; this reads only those it needs.
            // slither-disable-next-line unused-return
            (address holder, uint256 tokenSlot,,,) = voucher.tokenInfo(tokenId);
            if (holder != msg.sender || tokenSlot != slot) revert NotDebtorOrHolder(slot, msg.sender);
        }
        p.state = CoverState.Active;
        p.buyer = msg.sender;
        emit CoverBought(slot, msg.sender, insurer, premium);
        // Accepted slither finding (arbitrary-send-erc20): `from` is the caller itself.
        if (premium != 0) settlementToken.safeTransferFrom(msg.sender, insurer, premium);
    }

    /// @notice The insurer takes its escrow back: an offer nobody bought, or cover in force on
    ///         a slot now fully funded (nothing could ever be claimed).
    function withdrawCover(uint256 slot) external nonReentrant {
        Policy storage p = _policies[slot];
        if (msg.sender != p.insurer) revert NotPolicyInsurer(slot, msg.sender);
        if (p.state == CoverState.Active) {
            if (_unfunded(voucher.slotInfo(slot)) != 0) revert CoverInForce(slot);
        } else if (p.state != CoverState.Offered) {
            revert UnexpectedCoverState(slot, p.state);
        }
        p.state = CoverState.Closed;
        uint256 refunded = p.cover;
        emit CoverWithdrawn(slot, msg.sender, refunded);
        settlementToken.safeTransfer(msg.sender, refunded);
    }

    /// @notice Anyone triggers the claim on a slot marked overdue (its grace period is over):
    ///         the escrow pays the slot's unfunded part, up to the cover, exactly once; the rest
    ///         of the escrow returns to the insurer, which now holds that much of the claim
    ///         against the debtor. From now on the slot is funded only through `pay`.
    function claim(uint256 slot) external nonReentrant {
        Policy storage p = _policies[slot];
        if (p.state != CoverState.Active) revert UnexpectedCoverState(slot, p.state);
        ReceivableVoucher.Slot memory s = voucher.slotInfo(slot);
        if (s.overdueAt == 0) revert ClaimNotDue(slot);
        uint256 unfunded = _unfunded(s);
        if (unfunded == 0) revert NothingToClaim(slot);
        uint256 cover = p.cover;
        uint256 paid = cover < unfunded ? cover : unfunded;
        p.state = CoverState.Claimed;
        p.claimPaid = uint64(paid);
        address insurer = p.insurer;
        emit ClaimPaid(slot, insurer, msg.sender, paid, cover - paid);
        voucher.routeFunding(slot);
        settlementToken.forceApprove(address(voucher), paid);
        voucher.fund(slot, paid);
        _pay(insurer, cover - paid);
    }

    /// @notice The policy on `slot` (state None if there is none).
    function policyOf(uint256 slot) external view returns (Policy memory) {
        return _policies[slot];
    }

    /// @notice What the slot's debtor still owes the insurer after a claim (subrogation).
    function insurerOwed(uint256 slot) public view returns (uint256) {
        Policy storage p = _policies[slot];
        return p.state == CoverState.Claimed ? p.claimPaid - p.recovered : 0;
    }

    // ================================================================== payments

    /// @notice Pays `amount` toward slot `slot` on the caller's behalf (the debtor, or any active
    ///         member: a guarantor). Without a claim, all of it funds the slot. After a claim,
    ///         it is split in the policy's order: HoldersFirst funds the slot whole first, then
    ///         repays the insurer; InsurerFirst repays the insurer first. The caller approves
    ///         the desk for `amount` first (or uses `payWithPermit`).
    function pay(uint256 slot, uint256 amount) public nonReentrant {
        ReceivableVoucher.Slot memory s = voucher.slotInfo(slot);
        if (msg.sender != s.debtor && registry.rolesIfActive(msg.sender) == 0) revert NotActiveMember(msg.sender);
        if (amount == 0) revert ZeroAmount();
        Policy storage p = _policies[slot];
        uint256 toInsurer = 0;
        if (p.state == CoverState.Claimed) {
            uint256 unfunded = _unfunded(s);
            uint256 owed = p.claimPaid - p.recovered;
            if (amount > unfunded + owed) revert OverPayment(slot, unfunded + owed, amount);
            if (p.order == Recovery.InsurerFirst) {
                toInsurer = amount < owed ? amount : owed;
            } else {
                toInsurer = amount > unfunded ? amount - unfunded : 0;
            }
            p.recovered += uint64(toInsurer);
        }
        uint256 toSlot = amount - toInsurer;
        emit PaidThroughDesk(slot, msg.sender, toSlot, toInsurer, insurerOwed(slot));
        // Accepted slither finding (arbitrary-send-erc20): `from` is the caller itself.
        settlementToken.safeTransferFrom(msg.sender, address(this), amount);
        if (toSlot != 0) {
            settlementToken.forceApprove(address(voucher), toSlot);
            voucher.fund(slot, toSlot);
        }
        _pay(p.insurer, toInsurer);
    }

    /// @notice `pay` with an EIP-2612 permit of the settlement token, in one transaction.
    /// @dev A permit already used (front-run) is tolerated when the allowance suffices.
    function payWithPermit(uint256 slot, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        try IERC20Permit(address(settlementToken)).permit(msg.sender, address(this), amount, deadline, v, r, s) {}
            catch {}
        pay(slot, amount);
    }

    /// @dev What the slot still needs to be fully funded: face value - funded - written off.
    function _unfunded(ReceivableVoucher.Slot memory s) private pure returns (uint256) {
        return uint256(s.faceValue) - s.funded - s.writtenOff;
    }
}
