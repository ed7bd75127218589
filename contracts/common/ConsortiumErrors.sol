// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// The custom errors that several contracts of the suite raise, declared once (as OpenZeppelin's
// draft-IERC6093 declares the token standards' errors), at file level: a contract imports the
// ones it raises by name, so its ABI lists exactly those. (Inheriting an interface of errors
// would put every one of them in every ABI, and the Python decoder, which prefers the called
// contract's errors, would then blame the called contract for an error raised by another.)
// An error's selector is that of its signature, the same in every contract that raises it.
/// @notice An amount that must be positive is zero:
///         - SettlementToken: `mint` or `burn` of 0 (a transfer of 0 is allowed);
///         - TradeRegistry: `register` of a document with amount 0, `reserve` of 0 (a
///           `release` of 0 is allowed);
///         - ReceivableVoucher: `issue` with face value 0, `fund` (and `fundWithPermit`)
///           of 0, `returnExcessSettlement` of 0, and a move of value 0 out of a voucher: a
///           split-transfer or a merge (the two ERC-3525 `transferFrom`s) or an entry of
///           `split` that is 0;
///         - DiscountDesk: `discount` of an offer whose value is 0, `returnExcessSettlement`
///           of 0.
error ZeroAmount();

/// @notice An address that must be set is zero:
///         - ConsortiumRegistry: the constructor's governance or first operator, `admit` of
///           the zero address, `setSystemAccount` of the zero address;
///         - TradeRegistry: `register` naming the zero counterparty, `setLedger` of the zero
///           address;
///         - ReceivableVoucher: the constructor's registry, settlement token or trade
///           registry; `issue` to the zero creditor; `approve` of a value allowance
///           (ERC-3525) or `setApprovalForAll` for the zero operator; ERC-721 `balanceOf`
///           of the zero address; a split-transfer, whole transfer (`transferFrom`,
///           `safeTransferFrom`), `deskTransfer` or `forceTransfer` to the zero address.
error ZeroAddress();

/// @notice The account does not hold the consortium registry's OPERATOR_ROLE:
///         - the `onlyOperator` functions of ConsortiumGuarded's contracts: `pause` and
///           `unpause` (SettlementToken, TradeRegistry, ReceivableVoucher), SettlementToken
///           `mint` and `burn`, ReceivableVoucher `freeze`, `unfreeze` and `forceTransfer`;
///         - ConsortiumRegistry's operator acts: `approve`, `completeApplication`,
///           `rejectApplication`, `admit`, `suspend`, `reinstate`, `remove`, `setRoles`,
///           `setCreditLimit`; and `approveAction`, when the operator a suite contract names
///           does not hold the role.
/// @param account the caller; for `approveAction`, the operator named by the calling
///        suite contract.
error NotOperator(address account);

/// @notice The caller does not hold governance (the consortium registry's
///         DEFAULT_ADMIN_ROLE): TradeRegistry `setLedger`; ReceivableVoucher `setMaxTenor`,
///         `setGracePeriod`, `setDiscountDesk`, `setDescriptor` and
///         `returnExcessSettlement`; DiscountDesk `returnExcessSettlement`. (The registry's
///         own governance functions refuse with OpenZeppelin's
///         AccessControlUnauthorizedAccount.)
error NotGovernance(address account);

/// @notice The account does not have the core-enterprise role where it needs it:
///         - ConsortiumRegistry: `admit` with a nonzero credit limit and roles without the
///           core-enterprise bit; `setCreditLimit` for a member whose roles lack it;
///         - ReceivableVoucher: `issue` by a caller that is not an active member holding the
///           core-enterprise role.
/// @param account the firm admitted or given a credit limit, or the issuing caller.
error NotCoreEnterprise(address account);

/// @notice The account is not an active member of the consortium (pending, suspended,
///         removed or unknown):
///         - TradeRegistry: `register` when the caller or the counterparty is not active;
///           `confirm` or `reject` when the caller (the record's counterparty) is not;
///         - ReceivableVoucher: `issue` naming a creditor that is not active; a receiver
///           that is not active: the creditor on `accept`, the receiver of a
///           split-transfer, whole transfer, `deskTransfer` or `forceTransfer`, the holder
///           of the receiving voucher in a merge; a giving holder that is not active
///           (split-transfer, merge, `split`, whole transfer, `deskTransfer`; not
///           `forceTransfer`); the holder of a voucher redeemed by `redeem` or
///           `redeemBatch`; a caller other than the holder that is not active: any such
///           caller of the ERC-3525 `transferFrom`s, and an approved agent making a whole
///           transfer or granting an approval (either `approve`) for the holder; a payer
///           of `fund` (`fundWithPermit`) other than the slot's debtor that is not active.
error NotActiveMember(address account);

/// @notice More settlement tokens asked back by `returnExcessSettlement` than the contract
///         holds beyond what it owes: ReceivableVoucher's excess is its balance above
///         `settlementOwed()` (see `excessSettlement()`); DiscountDesk owes nothing, so its
///         excess is its whole balance.
/// @param excess the most that may be returned now.
/// @param amount the amount asked.
error ExceedsExcess(uint256 excess, uint256 amount);
