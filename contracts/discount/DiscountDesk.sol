// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {ReceivableVoucher} from "../voucher/ReceivableVoucher.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Roles} from "../common/Roles.sol";
import {ExceedsExcess, NotGovernance, ZeroAmount} from "../common/ConsortiumErrors.sol";

/// @title DiscountDesk
/// @notice Discounting of vouchers at a bank or factor, delivery versus payment in one
///         transaction. The financier signs an EIP-712 `DiscountOffer`; the holder submits it;
///         the desk prices it ACT/360 on the seconds left to maturity, pays the holder from the
///         financier's settlement tokens (the financier's allowance to this desk is its
///         discounting line) and moves the value to the financier.
///         An offer signed with recourse lets the financier, if the slot goes overdue, put the
///         voucher back to the seller, who then owes the price paid plus interest at the
///         offer's rate for the days elapsed (ACT/360), less what the voucher paid the
///         financier meanwhile. The debt is recorded here, collected from the seller's
///         settlement tokens as far as it has them (and allows the desk), and shown until paid.
/// @dev Offers name their seller (only it may submit them) and are single-use (per-financier
///      nonces), cancellable, expiring, and bound to this chain and contract by the EIP-712
///      domain. Signatures are checked with SignatureChecker: EOAs (high-s rejected) and
///      ERC-1271 contract wallets.
contract DiscountDesk is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice EIP-712 type of an offer; `frontend_bridge/typed-data` holds the same definition.
    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "DiscountOffer(uint256 tokenId,uint256 value,uint256 rateBps,uint256 deadline,uint256 nonce,address financier,address seller,bool recourse)"
    );
    uint8 public constant ROLE_FINANCIER = Roles.FINANCIER;
    /// @notice Highest annual discount rate an offer may carry (100 %).
    uint256 public constant MAX_RATE_BPS = 10_000;
    /// @notice ACT/360 day-count denominator times basis points.
    uint256 public constant YEAR_BASIS = 360 days * 10_000;

    struct DiscountOffer {
        uint256 tokenId;
        uint256 value;
        uint256 rateBps;
        uint256 deadline;
        uint256 nonce;
        address financier;
        address seller;
        bool recourse;
    }

    /// @dev A sale with recourse, by the voucher the financier bought; deleted when it is put
    ///      back (or the voucher is sold on with recourse again).
    struct Sale {
        address seller;
        uint40 soldAt;
        uint16 rateBps;
        address financier;
        uint56 value;
        uint56 price;
    }

    /// @dev What a seller owes after a put-back; deleted once paid.
    struct RecourseDebt {
        address seller;
        address financier;
        uint64 owed; // price + interest - what the voucher paid the financier
        uint64 paid;
    }

    IConsortiumRegistry public immutable registry;
    ReceivableVoucher public immutable voucher;
    IERC20 public immutable settlementToken;

    mapping(address financier => mapping(uint256 nonce => bool)) private _nonceUsed;
    mapping(uint256 tokenId => Sale) private _sales;
    mapping(uint256 tokenId => RecourseDebt) private _debts;

    /// @notice Emitted by `discount`: `holder` (the offer's seller) sold `value` of
    ///         `fromTokenId` to `financier` for `price`.
    /// @param offerHash the EIP-712 digest the financier signed (`hashOffer`).
    /// @param financierTokenId the voucher the financier now holds: `fromTokenId` itself when
    ///        the whole value was sold, else the new voucher split off it.
    event OfferExecuted(
        bytes32 indexed offerHash,
        address indexed financier,
        address indexed holder,
        uint256 fromTokenId,
        uint256 financierTokenId,
        uint256 value,
        uint256 rateBps,
        uint256 price
    );
    /// @notice Emitted by `discount` of an offer with recourse: the financier may put
    ///         `financierTokenId` back to `seller` if its slot goes overdue.
    event SoldWithRecourse(
        uint256 indexed financierTokenId, address indexed seller, address indexed financier, uint256 price, uint256 rateBps
    );
    /// @notice Emitted by `putBack`: the financier put the voucher back to the seller, who owes
    ///         `owed` = price + `interest` - `receivedMeanwhile` (what the voucher paid the
    ///         financier before).
    event RecourseExercised(
        uint256 indexed tokenId,
        address indexed financier,
        address indexed seller,
        uint256 owed,
        uint256 interest,
        uint256 receivedMeanwhile
    );
    /// @notice Emitted by `putBack`, `collectRecourse` and `payRecourse` for each payment of a
    ///         recourse debt by `payer`; `remaining` is what is still owed (0: settled).
    event RecoursePaid(uint256 indexed tokenId, address indexed payer, uint256 amount, uint256 remaining);
    /// @notice Emitted by `cancelOffer`: the financier spent `nonce`, so no offer carrying it
    ///         can be executed.
    event OfferCancelled(address indexed financier, uint256 indexed nonce);
    /// @notice Emitted by `returnExcessSettlement`: governance sent `amount` of the settlement
    ///         tokens held by the desk to `to`.
    event ExcessSettlementReturned(address indexed to, uint256 amount, address indexed governance);

    /// @notice `quote`, or `discount` pricing its offer, at a rate above MAX_RATE_BPS.
    error RateTooHigh(uint256 rateBps, uint256 max);
    /// @notice `discount` after the offer's deadline (a block time strictly later).
    error OfferExpired(uint256 deadline, uint256 now_);
    /// @notice `discount` of an offer whose nonce the financier already used or cancelled, or
    ///         `cancelOffer` of a nonce of the caller already used or cancelled.
    error OfferAlreadyUsed(address financier, uint256 nonce);
    /// @notice `discount` with a signature that is not `offer.financier`'s over `hashOffer(offer)`
    ///         (an ECDSA signature of an EOA, or an ERC-1271 contract wallet's approval).
    error InvalidOfferSignature(address financier);
    /// @notice `discount` of an offer whose financier (its signer) is not an active member with
    ///         the financier role.
    error NotFinancier(address account);
    /// @notice `quote`, or `discount` pricing its offer, at or after the maturity of the
    ///         voucher's slot.
    error VoucherMatured(uint256 tokenId, uint256 maturity);
    /// @notice `quote`, or `discount` pricing its offer, when the discount (rounded up) is the
    ///         whole value or more: only a rate near 100 % with more than 360 days to maturity.
    error DiscountExceedsValue(uint256 value, uint256 discount);
    /// @notice `discount` by anyone but the seller the offer names.
    error NotOfferSeller(address seller, address caller);
    /// @notice `putBack` of a voucher not bought with recourse, or by anyone but its financier.
    error NoRecourse(uint256 tokenId, address caller);
    /// @notice `putBack` of a voucher whose value (plus what it was paid) is below the value
    ///         sold: the financier split it since the sale.
    error VoucherChangedSinceSale(uint256 tokenId, uint256 sold, uint256 now_);
    /// @notice `putBack` when what the voucher already paid the financier covers the price and
    ///         interest: nothing would be owed.
    error NothingOwed(uint256 tokenId);
    /// @notice `putBack` of a voucher whose slot is fully funded after all: it will be redeemed
    ///         whole, so there is no default to put back.
    error SlotPaidInFull(uint256 slot);
    /// @notice `collectRecourse` while the seller or the financier (`account`) may not hold
    ///         settlement tokens (suspended or removed): the debt waits.
    error CashBlocked(uint256 tokenId, address account);
    /// @notice `payRecourse` or `collectRecourse` of a voucher with no recourse debt.
    error NoRecourseDebt(uint256 tokenId);
    /// @notice `payRecourse` of more than is owed; `collectRecourse` when the seller has no cash
    ///         it allows the desk to take.
    error RecoursePaymentTooLarge(uint256 tokenId, uint256 remaining, uint256 amount);

    constructor(IConsortiumRegistry registry_, ReceivableVoucher voucher_)
        EIP712("ReceivableVoucher DiscountDesk", "1")
    {
        registry = registry_;
        voucher = voucher_;
        settlementToken = voucher_.settlementToken();
    }

    /// @notice Price a holder would receive now for `value` of `tokenId` at `rateBps` a year:
    ///         value - ceil(value * rateBps * secondsToMaturity / (360 days * 10 000)).
    /// @dev Rounds the discount up, so the price is in the holder's disfavour by at most one unit.
    ///      Reverts DiscountExceedsValue when nothing would be left to pay.
    function quote(uint256 tokenId, uint256 value, uint256 rateBps)
        public
        view
        returns (uint256 price, uint256 secondsToMaturity)
    {
        if (rateBps > MAX_RATE_BPS) revert RateTooHigh(rateBps, MAX_RATE_BPS);
        uint256 maturity = voucher.maturityOf(voucher.slotOf(tokenId));
        if (block.timestamp >= maturity) revert VoucherMatured(tokenId, maturity);
        secondsToMaturity = maturity - block.timestamp;
        uint256 discountAmount = Math.mulDiv(value, rateBps * secondsToMaturity, YEAR_BASIS, Math.Rounding.Ceil);
        // Only a rate near 100 % with more than 360 days to go can take the whole value.
        if (discountAmount >= value) revert DiscountExceedsValue(value, discountAmount);
        price = value - discountAmount;
    }

    /// @notice The seller the offer names (the caller, holding the voucher) sells `offer.value`
    ///         of its voucher to the signing financier:
    ///         the financier pays the quoted price in settlement tokens, the value moves to the
    ///         financier (the whole voucher if it is all of it, else split), atomically.
    /// @return financierTokenId the voucher the financier now holds.
    /// @return price what the holder received, in settlement minor units.
    function discount(DiscountOffer calldata offer, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 financierTokenId, uint256 price)
    {
        if (msg.sender != offer.seller) revert NotOfferSeller(offer.seller, msg.sender);
        if (offer.value == 0) revert ZeroAmount();
        if (block.timestamp > offer.deadline) revert OfferExpired(offer.deadline, block.timestamp);
        if (_nonceUsed[offer.financier][offer.nonce]) revert OfferAlreadyUsed(offer.financier, offer.nonce);
        bytes32 digest = hashOffer(offer);
        if (!SignatureChecker.isValidSignatureNow(offer.financier, digest, signature)) {
            revert InvalidOfferSignature(offer.financier);
        }
        if (registry.rolesIfActive(offer.financier) & ROLE_FINANCIER == 0) revert NotFinancier(offer.financier);
        (price,) = quote(offer.tokenId, offer.value, offer.rateBps);

        _nonceUsed[offer.financier][offer.nonce] = true;

        // Accepted slither finding (arbitrary-send-erc20): `from` is the financier whose EIP-712
        // signature over this exact offer was verified above and whose nonce is now spent; its
        // allowance to this desk is the discounting line it granted. Nobody else's funds move.
        // slither-disable-next-line arbitrary-send-erc20
        settlementToken.safeTransferFrom(offer.financier, msg.sender, price);
        financierTokenId = voucher.deskTransfer(offer.tokenId, msg.sender, offer.financier, offer.value);
        emit OfferExecuted(
            digest, offer.financier, msg.sender, offer.tokenId, financierTokenId, offer.value, offer.rateBps, price
        );
        if (offer.recourse) {
            // Cannot truncate: value and price fit the ledger's 56-bit values, the rate 10 000.
            _sales[financierTokenId] = Sale({
                seller: msg.sender,
                soldAt: uint40(block.timestamp),
                rateBps: uint16(offer.rateBps),
                financier: offer.financier,
                value: uint56(offer.value),
                price: uint56(price)
            });
            emit SoldWithRecourse(financierTokenId, msg.sender, offer.financier, price, offer.rateBps);
        } else if (financierTokenId == offer.tokenId && _sales[financierTokenId].seller != address(0)) {
            // A whole voucher sold on without recourse: its earlier sale with recourse is over
            // (a split creates a new voucher, which has no sale to forget).
            delete _sales[financierTokenId];
        }
    }

    /// @notice The financier that bought `tokenId` with recourse, still holding it whole, puts it
    ///         back to the seller once its slot is marked overdue. The seller then owes the price
    ///         plus interest at the offer's rate for the whole days since the sale (ACT/360,
    ///         rounded down) less what the voucher paid the financier meanwhile (pro-rata payouts); the
    ///         desk takes what it can of that from the seller's cash at once.
    /// @return owed the seller's debt before that first collection.
    function putBack(uint256 tokenId) external nonReentrant returns (uint256 owed) {
        Sale memory sale = _sales[tokenId];
        if (sale.seller == address(0) || sale.financier != msg.sender) revert NoRecourse(tokenId, msg.sender);
        uint256 paidOut = voucher.paidOutOf(tokenId);
        // Accepted slither finding (unused-return): tokenInfo answers five fields; this reads only those it needs.
        // slither-disable-next-line unused-return
        (,, uint256 value,,) = voucher.tokenInfo(tokenId);
        // Split since the sale: the financier put back less than it bought. Value merged into it
        // by someone else (an ERC-3525 merge needs no consent) goes back with it and changes
        // nothing of the debt, so nobody can void the recourse by adding a cent.
        if (value + paidOut < sale.value) revert VoucherChangedSinceSale(tokenId, sale.value, value + paidOut);
        ReceivableVoucher.Slot memory s = voucher.slotInfo(tokenId >> 32);
        if (s.funded + s.writtenOff >= s.faceValue) revert SlotPaidInFull(tokenId >> 32);
        // Whole days elapsed since the sale, at the offer's rate, ACT/360, rounded down.
        // Accepted slither finding (divide-before-multiply): interest accrues per whole day
        // elapsed, so the seconds are divided into days first, on purpose.
        uint256 daysHeld = (block.timestamp - sale.soldAt) / 1 days;
        // slither-disable-next-line divide-before-multiply
        uint256 interest = Math.mulDiv(sale.price, uint256(sale.rateBps) * daysHeld, 360 * 10_000);
        if (paidOut >= sale.price + interest) revert NothingOwed(tokenId);
        owed = sale.price + interest - paidOut;
        delete _sales[tokenId];
        _debts[tokenId] = RecourseDebt({seller: sale.seller, financier: msg.sender, owed: uint64(owed), paid: 0});
        emit RecourseExercised(tokenId, msg.sender, sale.seller, owed, interest, paidOut);
        voucher.recourseTransfer(tokenId, msg.sender, sale.seller);
        _collect(tokenId, false);
    }

    /// @notice Takes what the seller of a put-back voucher has toward its debt: the least of the
    ///         debt, its settlement balance and its allowance to the desk (nothing while the
    ///         seller or the financier may not move cash). Anyone may call it.
    function collectRecourse(uint256 tokenId) external nonReentrant {
        _collect(tokenId, true);
    }

    /// @notice Pays `amount` of the recourse debt on `tokenId` to the financier, from the caller
    ///         (the seller, or anyone on its behalf; it approves the desk first).
    function payRecourse(uint256 tokenId, uint256 amount) external nonReentrant {
        RecourseDebt storage d = _debts[tokenId];
        if (d.seller == address(0)) revert NoRecourseDebt(tokenId);
        if (amount == 0) revert ZeroAmount();
        uint256 remaining = d.owed - d.paid;
        if (amount > remaining) revert RecoursePaymentTooLarge(tokenId, remaining, amount);
        _pay(tokenId, d, msg.sender, amount);
    }

    function _collect(uint256 tokenId, bool strict) private {
        RecourseDebt storage d = _debts[tokenId];
        if (d.seller == address(0)) revert NoRecourseDebt(tokenId);
        address seller = d.seller;
        uint256 amount = d.owed - d.paid;
        // A seller (or financier) that may not move cash now, suspended or removed, settles
        // later: the debt stays recorded and the put-back is not held up.
        address blocked = !registry.mayHoldSettlement(seller)
            ? seller
            : (registry.mayHoldSettlement(d.financier) ? address(0) : d.financier);
        if (blocked != address(0)) {
            if (strict) revert CashBlocked(tokenId, blocked);
            return;
        }
        uint256 balance = settlementToken.balanceOf(seller);
        uint256 allowed = settlementToken.allowance(seller, address(this));
        if (balance < amount) amount = balance;
        if (allowed < amount) amount = allowed;
        if (amount == 0) {
            if (strict) revert RecoursePaymentTooLarge(tokenId, d.owed - d.paid, 0);
            return;
        }
        _pay(tokenId, d, seller, amount);
    }

    function _pay(uint256 tokenId, RecourseDebt storage d, address payer, uint256 amount) private {
        address financier = d.financier;
        uint256 remaining = d.owed - d.paid - amount;
        if (remaining == 0) {
            delete _debts[tokenId];
        } else {
            d.paid += uint64(amount);
        }
        emit RecoursePaid(tokenId, payer, amount, remaining);
        // Accepted slither finding (arbitrary-send-erc20): `payer` is the caller itself, or the
        // seller of a put-back voucher collected under the allowance it gave this desk.
        // slither-disable-next-line arbitrary-send-erc20
        settlementToken.safeTransferFrom(payer, financier, amount);
    }

    /// @notice The sale with recourse of `tokenId` (seller 0 if none).
    function saleOf(uint256 tokenId) external view returns (Sale memory) {
        return _sales[tokenId];
    }

    /// @notice What the seller of put-back voucher `tokenId` owes (seller 0 if nothing).
    function recourseDebtOf(uint256 tokenId) external view returns (RecourseDebt memory) {
        return _debts[tokenId];
    }

    /// @notice The financier withdraws a signed offer before it is used.
    function cancelOffer(uint256 nonce) external {
        if (_nonceUsed[msg.sender][nonce]) revert OfferAlreadyUsed(msg.sender, nonce);
        _nonceUsed[msg.sender][nonce] = true;
        emit OfferCancelled(msg.sender, nonce);
    }

    /// @notice Whether `nonce` of `financier` has been used or cancelled.
    function isNonceUsed(address financier, uint256 nonce) external view returns (bool) {
        return _nonceUsed[financier][nonce];
    }

    /// @notice The EIP-712 digest a financier signs for `offer`.
    function hashOffer(DiscountOffer calldata offer) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    OFFER_TYPEHASH,
                    offer.tokenId,
                    offer.value,
                    offer.rateBps,
                    offer.deadline,
                    offer.nonce,
                    offer.financier,
                    offer.seller,
                    offer.recourse
                )
            )
        );
    }

    /// @notice Governance returns settlement tokens sent to the desk by mistake (the desk never
    ///         holds any of its own: a discount pays the holder straight from the financier).
    function returnExcessSettlement(address to, uint256 amount) external nonReentrant {
        if (!IAccessControl(address(registry)).hasRole(bytes32(0), msg.sender)) revert NotGovernance(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 excess = settlementToken.balanceOf(address(this));
        if (amount > excess) revert ExceedsExcess(excess, amount);
        emit ExcessSettlementReturned(to, amount, msg.sender);
        settlementToken.safeTransfer(to, amount);
    }

    /// @notice The EIP-712 domain separator (chain id and this contract's address inside).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
