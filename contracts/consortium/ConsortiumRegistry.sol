// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControlEnumerable} from "@openzeppelin/contracts/access/extensions/AccessControlEnumerable.sol";
import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {Roles} from "../common/Roles.sol";
import {NotCoreEnterprise, NotOperator, ZeroAddress} from "../common/ConsortiumErrors.sol";

/// @title ConsortiumRegistry
/// @notice Members of the supply-chain finance consortium: who they are, what they may do,
///         whether they are active, and the credit limits of core enterprises.
/// @dev Governance (DEFAULT_ADMIN_ROLE) appoints operators and sets the approval threshold;
///      operators admit, suspend, reinstate and remove members. Every contract of the suite
///      asks this registry before it lets an address hold or receive anything.
///      While the approval threshold is above 1, no single operator activates a member, grants
///      roles or raises a credit line: each of these acts is an "action" that takes effect when
///      the threshold's number of current operators has made the same call. Other contracts of
///      the suite put their own governance acts (a court-ordered voucher transfer) under the
///      same threshold through `approveAction`.
contract ConsortiumRegistry is AccessControlEnumerable, IConsortiumRegistry {
    /// @notice Operators run the consortium day to day.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    uint8 public constant ROLE_CORE_ENTERPRISE = Roles.CORE_ENTERPRISE;
    uint8 public constant ROLE_SUPPLIER = Roles.SUPPLIER;
    uint8 public constant ROLE_FINANCIER = Roles.FINANCIER;
    uint8 public constant ROLE_AUDITOR = Roles.AUDITOR;
    uint8 public constant ROLE_INSURER = Roles.INSURER;
    uint8 public constant ALL_ROLES = Roles.ALL;
    /// @notice Longest display name, in bytes (UTF-8).
    uint256 public constant MAX_NAME_BYTES = 128;
    /// @notice Largest `applyForMembership` calldata that `transactionAllowed` lets a
    ///         non-member send: selector, three head words, the name's length word and the
    ///         longest name.
    uint256 public constant MAX_APPLICATION_BYTES = 4 + 4 * 32 + MAX_NAME_BYTES;

    enum MemberStatus {
        None,
        Pending,
        Active,
        Suspended,
        Removed
    }

    /// @dev One storage word: what the suite's checks read, and nothing else. A member's name
    ///      and KYC evidence hash are descriptive: they are in the events that set them
    ///      (MembershipApplied, MemberAdmitted), for the indexer, and never read on chain.
    struct Member {
        MemberStatus status;
        uint8 roles;
        uint16 approvals;
        uint32 round;
        uint40 updatedAt;
        uint128 creditLimit;
    }

    /// @notice One firm of an `admitBatch`: what `admit` takes for one.
    struct Admission {
        address account;
        uint8 roles;
        uint256 creditLimit;
        bytes32 kycHash;
        string name;
    }

    mapping(address account => Member) private _members;
    mapping(address applicant => mapping(uint32 round => mapping(address operator => bool))) private _approvedBy;
    mapping(address account => bool) private _systemAccounts;
    uint16 private _approvalThreshold;
    /// @dev Moves on at every threshold change: approvals of actions in progress count only
    ///      under the threshold they were given under (at a threshold of 1 an action takes
    ///      effect without touching its round, so a round opened under a higher threshold must
    ///      not survive a change to 1 and back).
    uint32 private _thresholdEpoch;
    /// @dev k-of-n actions: approvals live under an epoch per (scope, action) that moves on
    ///      when the action takes effect, so no approval is ever counted twice.
    mapping(address scope => mapping(bytes32 action => uint256)) private _actionEpoch;
    mapping(bytes32 round => mapping(address operator => bool)) private _actionApprovedBy;
    /// @dev Counts every credit-limit change of a member after admission: a raise's approvals
    ///      are bound to it, so an approval given before any later change (a raise, a lowering)
    ///      can never complete a raise again.
    mapping(address account => uint256) private _creditChanges;
    /// @dev Counts the suspensions, reinstatements and removals of a member: a court order's
    ///      approvals are bound to the one they were given under (not to a time: several
    ///      blocks can share a second).
    mapping(address account => uint256) private _standingChanges;

    /// @notice Emitted by `applyForMembership`: a firm applied, opening approval round `round`
    ///         (followed by MemberStatusChanged to Pending).
    /// @param round the member's round counter after this application: each application, and
    ///        the admission of a firm that never applied, opens a new round.
    event MembershipApplied(address indexed applicant, uint32 round, uint8 roles, bytes32 kycHash, string name);
    /// @notice Emitted by every successful `approve`: `operator` approved the application's
    ///         current round, which now has `approvals` of the `threshold` it needs (counting
    ///         current operators only). The approval that reaches the threshold is followed by
    ///         MemberStatusChanged to Active.
    event ApplicationApproved(address indexed applicant, address indexed operator, uint16 approvals, uint16 threshold);
    /// @notice Emitted by `rejectApplication` (followed by MemberStatusChanged from Pending to
    ///         Removed; the firm may apply again).
    event ApplicationRejected(address indexed applicant, address indexed operator, bytes32 reasonHash);
    /// @notice Emitted by `admit` when the admission takes effect (at once with a threshold of
    ///         1, else on the approval that reaches the threshold), followed by
    ///         MemberStatusChanged to Active and, for a nonzero credit limit, CreditLimitSet.
    /// @param operator the operator whose call admitted the firm.
    event MemberAdmitted(address indexed account, address indexed operator, uint8 roles, bytes32 kycHash, string name);
    /// @notice Emitted on every status change: `applyForMembership` (None or Removed to
    ///         Pending), `approve` reaching the threshold and `completeApplication` (Pending to
    ///         Active), `rejectApplication` (Pending to Removed), `admit` taking effect (None or
    ///         Pending to Active), `suspend` (Active to Suspended), `reinstate` taking effect
    ///         (Suspended to Active) and `remove` (to Removed).
    /// @param operator the caller: the operator, or the applicant itself for an application.
    /// @param reasonHash the reason given to `suspend`, `remove` or `rejectApplication`; 0 otherwise.
    event MemberStatusChanged(
        address indexed account, MemberStatus from, MemberStatus to, address indexed operator, bytes32 reasonHash
    );
    /// @notice Emitted by `setRoles` when it takes effect (taking roles away at once, granting
    ///         one on the approval that reaches the threshold), also when `to` equals `from`.
    ///         Roles given by an application or an admission are in MembershipApplied and
    ///         MemberAdmitted instead.
    event MemberRolesChanged(address indexed account, uint8 from, uint8 to, address indexed operator);
    /// @notice Emitted whenever a member's credit limit is written: `admit` with a nonzero
    ///         limit; `setCreditLimit` when it takes effect (lowering, or an unchanged limit, at
    ///         once; raising on the approval that reaches the threshold); `setRoles` taking the
    ///         core-enterprise role from a member with a limit (to 0); `applyForMembership` by a
    ///         removed firm that still had a limit (to 0, `operator` being the applicant).
    event CreditLimitSet(address indexed account, uint256 from, uint256 to, address indexed operator);
    /// @notice Emitted by the constructor (0 to 1) and by `setApprovalThreshold` (governance).
    event ApprovalThresholdSet(uint16 from, uint16 to);
    /// @notice Emitted by `setSystemAccount`: governance marks (`enabled`) or unmarks a suite
    ///         contract as a system account.
    event SystemAccountSet(address indexed account, bool enabled);
    /// @notice Emitted, while the threshold is above 1, by an operator's approval of a k-of-n
    ///         action that does not reach the threshold yet: `admit`, `reinstate`, `setRoles`
    ///         granting a role and `setCreditLimit` raising a limit (scope: this registry), and
    ///         `approveAction` (scope: the calling suite contract, e.g. ReceivableVoucher's
    ///         `forceTransfer`). The approval that reaches the threshold emits the action's own
    ///         events instead. Application approvals emit ApplicationApproved.
    /// @param action the digest of the action and its arguments (approvals of different
    ///        arguments never add up).
    event ActionApproved(
        address indexed scope, bytes32 indexed action, address indexed operator, uint16 approvals, uint16 threshold
    );

    /// @notice `roles` is 0 or above ALL_ROLES (31): `applyForMembership`, `admit`, `setRoles`.
    error InvalidRoles(uint8 roles);
    /// @notice `applyForMembership` or `admit` with an empty name.
    error EmptyName();
    /// @notice `applyForMembership` or `admit` with a name longer than MAX_NAME_BYTES bytes.
    error NameTooLong(uint256 length, uint256 max);
    /// @notice `applyForMembership` or `admit` with a zero KYC evidence hash.
    error MissingKycEvidence();
    /// @notice `admitBatch` was given no firm.
    error EmptyBatch();
    /// @notice The member's status does not allow the call: `applyForMembership` by a pending,
    ///         active or suspended firm; `approve`, `completeApplication` or
    ///         `rejectApplication` of a firm that is not pending; `admit` of an active,
    ///         suspended or removed firm; `suspend` of a member that is not active; `reinstate`
    ///         of one that is not suspended; `remove` of an unknown or removed one; `setRoles` or
    ///         `setCreditLimit` for one that is neither active nor suspended.
    /// @param actual the member's status (None for an unknown address).
    error UnexpectedStatus(address account, MemberStatus actual);
    /// @notice The operator already approved: `approve` of an application round it approved;
    ///         or, while the threshold is above 1, an action whose open round it approved
    ///         (`admit`, `reinstate`, `setRoles` granting a role, `setCreditLimit` raising a
    ///         limit, `approveAction`).
    /// @param applicant the applicant for `approve`; for an action, its scope: this registry,
    ///        or the suite contract that called `approveAction`.
    error AlreadyApproved(address applicant, address operator);
    /// @notice `setApprovalThreshold` of 0 or of more than the current operators; or a
    ///         `revokeRole`/`renounceRole` of OPERATOR_ROLE that would leave fewer operators
    ///         than the threshold.
    /// @param threshold the threshold asked for, or the current one when an operator leaves.
    /// @param operators the number of operators (after the revocation, when one leaves).
    error InvalidThreshold(uint16 threshold, uint256 operators);
    /// @notice `admit` or `setCreditLimit` with a credit limit above 2**128 - 1.
    error CreditLimitTooLarge(uint256 limit);
    /// @notice `approveAction` called by an address that governance has not marked as a system
    ///         account of the suite (`setSystemAccount`).
    error NotSuiteContract(address caller);
    /// @notice `completeApplication` of a pending application whose approvals by current
    ///         operators are fewer than the threshold.
    error ApprovalsBelowThreshold(address applicant, uint16 approvals, uint16 threshold);

    /// @param governance receives DEFAULT_ADMIN_ROLE (appoints operators, sets the threshold).
    /// @param firstOperator receives OPERATOR_ROLE.
    constructor(address governance, address firstOperator) {
        if (governance == address(0) || firstOperator == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(OPERATOR_ROLE, firstOperator);
        _approvalThreshold = 1;
        emit ApprovalThresholdSet(0, 1);
    }

    modifier onlyOperator() {
        if (!hasRole(OPERATOR_ROLE, msg.sender)) revert NotOperator(msg.sender);
        _;
    }

    // ----------------------------------------------------------------- application

    /// @notice A firm applies for membership. Allowed for a new address or one that was removed
    ///         or rejected; each application starts a new approval round.
    /// @dev Reverts with UnexpectedStatus if the caller is pending, active or suspended.
    function applyForMembership(string calldata name, uint8 roles, bytes32 kycHash) external {
        _validateProfile(name, roles, kycHash);
        Member storage m = _members[msg.sender];
        if (m.status != MemberStatus.None && m.status != MemberStatus.Removed) {
            revert UnexpectedStatus(msg.sender, m.status);
        }
        MemberStatus previous = m.status;
        uint32 round = m.round + 1;
        // A firm coming back after removal starts with no credit line: operators set it anew.
        if (m.creditLimit != 0) {
            emit CreditLimitSet(msg.sender, m.creditLimit, 0, msg.sender);
            m.creditLimit = 0;
        }
        m.status = MemberStatus.Pending;
        m.roles = roles;
        m.approvals = 0;
        m.round = round;
        m.updatedAt = uint40(block.timestamp);
        emit MembershipApplied(msg.sender, round, roles, kycHash, name);
        emit MemberStatusChanged(msg.sender, previous, MemberStatus.Pending, msg.sender, bytes32(0));
    }

    /// @notice An operator approves a pending application; it becomes active once the
    ///         approval threshold is reached. Each operator approves a round at most once.
    function approve(address applicant) external onlyOperator {
        Member storage m = _members[applicant];
        if (m.status != MemberStatus.Pending) revert UnexpectedStatus(applicant, m.status);
        if (_approvedBy[applicant][m.round][msg.sender]) revert AlreadyApproved(applicant, msg.sender);
        _approvedBy[applicant][m.round][msg.sender] = true;
        uint16 approvals = _currentApprovals(applicant, m.round);
        m.approvals = approvals;
        uint16 threshold = _approvalThreshold;
        emit ApplicationApproved(applicant, msg.sender, approvals, threshold);
        if (approvals >= threshold) _setStatus(applicant, m, MemberStatus.Active, bytes32(0));
    }

    /// @notice Activates a pending application that already has the threshold's approvals from
    ///         current operators: the way to finish a round after governance lowered the
    ///         threshold to what the round already had. Any operator may call it.
    /// @dev Reverts UnexpectedStatus unless pending, ApprovalsBelowThreshold otherwise.
    function completeApplication(address applicant) external onlyOperator {
        Member storage m = _members[applicant];
        if (m.status != MemberStatus.Pending) revert UnexpectedStatus(applicant, m.status);
        uint16 approvals = _currentApprovals(applicant, m.round);
        uint16 threshold = _approvalThreshold;
        if (approvals < threshold) revert ApprovalsBelowThreshold(applicant, approvals, threshold);
        m.approvals = approvals;
        _setStatus(applicant, m, MemberStatus.Active, bytes32(0));
    }

    /// @notice An operator rejects a pending application; the firm may apply again.
    function rejectApplication(address applicant, bytes32 reasonHash) external onlyOperator {
        Member storage m = _members[applicant];
        if (m.status != MemberStatus.Pending) revert UnexpectedStatus(applicant, m.status);
        emit ApplicationRejected(applicant, msg.sender, reasonHash);
        _setStatus(applicant, m, MemberStatus.Removed, reasonHash);
    }

    /// @notice An operator admits a firm directly (consortium seeding), without an application.
    ///         Only for an address that never applied or whose application is pending; a removed
    ///         member must apply again. With a threshold of 1 the firm is active at once; above
    ///         1, each operator's identical call counts as one approval of this admission and
    ///         the call that reaches the threshold admits it (earlier calls emit ActionApproved).
    /// @dev Reverts ZeroAddress, InvalidRoles, EmptyName, NameTooLong, MissingKycEvidence,
    ///      UnexpectedStatus, CreditLimitTooLarge, NotCoreEnterprise (a credit limit for a firm
    ///      without the role) and AlreadyApproved (the same operator twice).
    /// @return admitted whether the firm is now active.
    function admit(address account, string calldata name, uint8 roles, bytes32 kycHash, uint256 creditLimit)
        external
        onlyOperator
        returns (bool admitted)
    {
        Member storage m = _admissible(account, name, roles, kycHash, creditLimit, true);
        bytes32 action =
            keccak256(abi.encode(this.admit.selector, account, keccak256(bytes(name)), roles, kycHash, creditLimit, m.round));
        if (!_approveAction(address(this), action, msg.sender)) return false;
        _admit(account, m, name, roles, kycHash, creditLimit);
        return true;
    }

    /// @notice Admits many firms in one transaction (seeding a consortium): each as `admit`
    ///         would, all or none. Only for addresses that never applied (a pending applicant is
    ///         admitted with `admit` or `approve`), each once in the batch. Above a threshold of
    ///         1, each operator's identical call (the same batch, byte for byte) counts as one
    ///         approval and the call that reaches the threshold admits them all.
    /// @dev Reverts EmptyBatch, and for the first firm at fault what `admit` reverts with
    ///      (checked before any approval is counted); UnexpectedStatus(account, Active) for an
    ///      address given twice, found while admitting (the tooling refuses duplicates before
    ///      sending). The batch is the caller's calldata, bounded by the block's gas, not by
    ///      anything stored.
    /// @return admitted whether the firms are now active.
    function admitBatch(Admission[] calldata batch) external onlyOperator returns (bool admitted) {
        if (batch.length == 0) revert EmptyBatch();
        // Checked whole before any approval is counted: a batch that cannot be admitted is
        // refused to its first operator, not to the one who would reach the threshold.
        for (uint256 i = 0; i < batch.length; ++i) {
            Admission calldata a = batch[i];
            _admissible(a.account, a.name, a.roles, a.kycHash, a.creditLimit, false);
        }
        if (!_approveAction(address(this), keccak256(msg.data), msg.sender)) return false;
        for (uint256 i = 0; i < batch.length; ++i) {
            Admission calldata a = batch[i];
            Member storage m = _members[a.account];
            // An address given twice is active by its second turn: the whole batch reverts.
            if (m.status != MemberStatus.None) revert UnexpectedStatus(a.account, m.status);
            _admit(a.account, m, a.name, a.roles, a.kycHash, a.creditLimit);
        }
        return true;
    }

    // ------------------------------------------------------------------ lifecycle

    /// @notice Suspends an active member: it can neither send nor receive vouchers or cash.
    function suspend(address account, bytes32 reasonHash) external onlyOperator {
        Member storage m = _members[account];
        if (m.status != MemberStatus.Active) revert UnexpectedStatus(account, m.status);
        _standingChanges[account] += 1;
        _setStatus(account, m, MemberStatus.Suspended, reasonHash);
    }

    /// @notice Reinstates a suspended member: an activation, so above a threshold of 1 it takes
    ///         the threshold's approvals (identical calls by distinct operators).
    /// @return reinstated whether the member is active again.
    function reinstate(address account) external onlyOperator returns (bool reinstated) {
        Member storage m = _members[account];
        if (m.status != MemberStatus.Suspended) revert UnexpectedStatus(account, m.status);
        // Bound to this suspension: approvals given during an earlier one do not count.
        bytes32 action = keccak256(abi.encode(this.reinstate.selector, account, m.updatedAt, m.round));
        if (!_approveAction(address(this), action, msg.sender)) return false;
        _standingChanges[account] += 1;
        _setStatus(account, m, MemberStatus.Active, bytes32(0));
        return true;
    }

    /// @notice Removes a pending, active or suspended member. It may come back only through a
    ///         new application.
    function remove(address account, bytes32 reasonHash) external onlyOperator {
        Member storage m = _members[account];
        if (m.status == MemberStatus.None || m.status == MemberStatus.Removed) {
            revert UnexpectedStatus(account, m.status);
        }
        _standingChanges[account] += 1;
        _setStatus(account, m, MemberStatus.Removed, reasonHash);
    }

    /// @notice Changes the roles of an active or suspended member. Taking roles away is one
    ///         operator's act; granting a role it does not have takes the threshold's approvals.
    /// @return changed whether the roles are now `roles`.
    function setRoles(address account, uint8 roles) external onlyOperator returns (bool changed) {
        if (roles == 0 || roles > ALL_ROLES) revert InvalidRoles(roles);
        Member storage m = _members[account];
        if (m.status != MemberStatus.Active && m.status != MemberStatus.Suspended) {
            revert UnexpectedStatus(account, m.status);
        }
        if (roles & ~m.roles != 0) {
            bytes32 action = keccak256(abi.encode(this.setRoles.selector, account, m.roles, roles, m.updatedAt));
            if (!_approveAction(address(this), action, msg.sender)) return false;
        }
        changed = true;
        emit MemberRolesChanged(account, m.roles, roles, msg.sender);
        m.roles = roles;
        m.updatedAt = uint40(block.timestamp);
        // A member that is no longer a core enterprise keeps no credit line.
        if ((roles & ROLE_CORE_ENTERPRISE) == 0 && m.creditLimit != 0) {
            emit CreditLimitSet(account, m.creditLimit, 0, msg.sender);
            m.creditLimit = 0;
        }
    }

    /// @notice Sets the credit limit (settlement minor units) of a core enterprise: the most
    ///         face value it may have outstanding in unfunded issuances. Lowering is one
    ///         operator's act; raising takes the threshold's approvals.
    /// @return set whether the limit is now `limit`.
    function setCreditLimit(address account, uint256 limit) external onlyOperator returns (bool set) {
        Member storage m = _members[account];
        if (m.status != MemberStatus.Active && m.status != MemberStatus.Suspended) {
            revert UnexpectedStatus(account, m.status);
        }
        if ((m.roles & ROLE_CORE_ENTERPRISE) == 0) revert NotCoreEnterprise(account);
        if (limit > type(uint128).max) revert CreditLimitTooLarge(limit);
        uint256 changes = _creditChanges[account];
        if (limit > m.creditLimit) {
            bytes32 action = keccak256(
                abi.encode(this.setCreditLimit.selector, account, m.creditLimit, limit, m.round, changes)
            );
            if (!_approveAction(address(this), action, msg.sender)) return false;
        }
        _creditChanges[account] = changes + 1;
        _setCreditLimit(account, m, limit);
        return true;
    }

    /// @notice Counts `operator`'s approval of `action` in the calling contract's scope, for a
    ///         contract of the suite that puts one of its acts under the consortium's threshold
    ///         (a court-ordered voucher transfer). Approvals are per scope, so a contract can
    ///         only ever count approvals of its own actions.
    /// @dev Only the suite's system accounts (the voucher ledger) may call it: the caller
    ///      vouches that `operator` is its own msg.sender. Reverts NotSuiteContract, NotOperator
    ///      and AlreadyApproved.
    /// @return reached whether the action now has the threshold's approvals (it must be
    ///         carried out in the same call: the next approval starts a new round).
    function approveAction(bytes32 action, address operator) external returns (bool reached) {
        if (!_systemAccounts[msg.sender]) revert NotSuiteContract(msg.sender);
        if (!hasRole(OPERATOR_ROLE, operator)) revert NotOperator(operator);
        return _approveAction(msg.sender, action, operator);
    }

    // ----------------------------------------------------------------- governance

    /// @notice Sets how many operator approvals an application or action needs (k of n
    ///         operators). Approvals of threshold-gated actions in progress are void: those
    ///         acts start over under the new threshold (application rounds keep theirs).
    function setApprovalThreshold(uint16 threshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 operators = getRoleMemberCount(OPERATOR_ROLE);
        if (threshold == 0 || threshold > operators) revert InvalidThreshold(threshold, operators);
        emit ApprovalThresholdSet(_approvalThreshold, threshold);
        _approvalThreshold = threshold;
        _thresholdEpoch += 1; // actions in progress start over under the new threshold
    }

    /// @notice Marks a contract of the suite (the voucher ledger) as allowed to hold settlement tokens.
    function setSystemAccount(address account, bool enabled) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        _systemAccounts[account] = enabled;
        emit SystemAccountSet(account, enabled);
    }

    // ---------------------------------------------------------------------- views

    /// @notice The full record of `account` (status None and empty fields if unknown).
    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc IConsortiumRegistry
    function standingChangesOf(address account) external view returns (uint256) {
        return _standingChanges[account];
    }

    /// @notice The membership status of `account`.
    function statusOf(address account) external view returns (MemberStatus) {
        return _members[account].status;
    }

    /// @notice Whether `account` is an active member holding every role bit in `roles`.
    function hasActiveRoles(address account, uint8 roles) external view returns (bool) {
        Member storage m = _members[account];
        return m.status == MemberStatus.Active && (m.roles & roles) == roles;
    }

    /// @inheritdoc IConsortiumRegistry
    function rolesIfActive(address account) public view returns (uint8) {
        return _activeRoles(account);
    }

    /// @inheritdoc IConsortiumRegistry
    function rolesIfActivePair(address a, address b) external view returns (uint8 rolesA, uint8 rolesB) {
        return (_activeRoles(a), _activeRoles(b));
    }

    /// @inheritdoc IConsortiumRegistry
    function rolesIfActiveTrio(address a, address b, address c) external view returns (uint256 packed) {
        return uint256(_activeRoles(a)) | uint256(_activeRoles(b)) << 8 | uint256(_activeRoles(c)) << 16;
    }

    /// @inheritdoc IConsortiumRegistry
    function issuanceTerms(address debtor, address creditor)
        external
        view
        returns (uint8 debtorRoles, uint8 creditorRoles, uint256 creditLimit)
    {
        return (_activeRoles(debtor), _activeRoles(creditor), _members[debtor].creditLimit);
    }

    /// @inheritdoc IConsortiumRegistry
    function mayHoldSettlement(address account) external view returns (bool) {
        // Accepted slither finding (incorrect-equality): an enum status compared for equality,
        // not a balance or timestamp; strict equality is the intent.
        // slither-disable-next-line incorrect-equality
        return _members[account].status == MemberStatus.Active || _systemAccounts[account];
    }

    /// @notice Whether `account` is a system contract of the suite.
    function isSystemAccount(address account) external view returns (bool) {
        return _systemAccounts[account];
    }

    /// @inheritdoc IConsortiumRegistry
    function isOperator(address account) external view returns (bool) {
        return hasRole(OPERATOR_ROLE, account);
    }

    /// @inheritdoc IConsortiumRegistry
    function creditLimitOf(address account) external view returns (uint256) {
        return _members[account].creditLimit;
    }

    /// @notice Operator approvals an application or action needs.
    function approvalThreshold() external view returns (uint16) {
        return _approvalThreshold;
    }

    /// @notice Approvals by current operators of the open round of `action` in `scope`.
    function actionApprovals(address scope, bytes32 action) external view returns (uint16 approvals, uint16 threshold) {
        return (_countApprovals(_actionRound(scope, action)), _approvalThreshold);
    }

    /// @notice Whether `operator` approved the open round of `action` in `scope`.
    function hasApprovedAction(address scope, bytes32 action, address operator) external view returns (bool) {
        return _actionApprovedBy[_actionRound(scope, action)][operator];
    }

    /// @notice Whether `operator` approved the current application round of `applicant`.
    function hasApproved(address applicant, address operator) external view returns (bool) {
        return _approvedBy[applicant][_members[applicant].round][operator];
    }

    /// @notice Hyperledger Besu account permissioning hook: active members, operators and
    ///         system contracts may send transactions; a firm that never applied or was removed
    ///         may send only its membership application to this registry, of at most
    ///         MAX_APPLICATION_BYTES (a pending or suspended firm sends nothing).
    /// @dev Besu calls this for every transaction when on-chain account permissioning is on.
    function transactionAllowed(address sender, address target, uint256, uint256, uint256, bytes calldata payload)
        external
        view
        returns (bool)
    {
        MemberStatus status = _members[sender].status;
        // Accepted slither finding (incorrect-equality): an enum status compared for equality.
        // slither-disable-next-line incorrect-equality
        if (status == MemberStatus.Active || hasRole(OPERATOR_ROLE, sender) || hasRole(DEFAULT_ADMIN_ROLE, sender)
            || _systemAccounts[sender]) return true;
        // Accepted slither finding (incorrect-equality): enum statuses compared for equality.
        // slither-disable-next-line incorrect-equality
        return target == address(this) && (status == MemberStatus.None || status == MemberStatus.Removed)
            && payload.length >= 4 && payload.length <= MAX_APPLICATION_BYTES
            && bytes4(payload[:4]) == this.applyForMembership.selector;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Approvals of this round by operators who are operators now: an approval by an
    ///      operator revoked since does not count. Loops over the operator set, which only
    ///      governance grows (a handful of consortium operators), never over member data.
    function _currentApprovals(address applicant, uint32 round) private view returns (uint16 count) {
        uint256 operators = getRoleMemberCount(OPERATOR_ROLE);
        for (uint256 i = 0; i < operators; ++i) {
            if (_approvedBy[applicant][round][getRoleMember(OPERATOR_ROLE, i)]) ++count;
        }
    }

    /// @dev One approval of `action` in `scope` by `operator`. With a threshold of 1 the action
    ///      takes effect at once and nothing is stored (seeding stays one cheap call a member).
    ///      Otherwise the approval is recorded; when current operators' approvals reach the
    ///      threshold the round is closed (a new epoch) and true is returned.
    function _approveAction(address scope, bytes32 action, address operator) private returns (bool reached) {
        uint16 threshold = _approvalThreshold;
        if (threshold == 1) return true;
        bytes32 round = _actionRound(scope, action);
        if (_actionApprovedBy[round][operator]) revert AlreadyApproved(scope, operator);
        _actionApprovedBy[round][operator] = true;
        uint16 approvals = _countApprovals(round);
        if (approvals < threshold) {
            emit ActionApproved(scope, action, operator, approvals, threshold);
            return false;
        }
        _actionEpoch[scope][action] += 1;
        return true;
    }

    function _actionRound(address scope, bytes32 action) private view returns (bytes32) {
        return keccak256(abi.encode(scope, action, _actionEpoch[scope][action], _thresholdEpoch));
    }

    /// @dev Approvals of a round by operators who are operators now (a handful, grown only by
    ///      governance).
    function _countApprovals(bytes32 round) private view returns (uint16 count) {
        uint256 operators = getRoleMemberCount(OPERATOR_ROLE);
        for (uint256 i = 0; i < operators; ++i) {
            if (_actionApprovedBy[round][getRoleMember(OPERATOR_ROLE, i)]) ++count;
        }
    }

    /// @dev Roles of an active member, else 0, from one storage read: status and roles are the
    ///      first two bytes of the member record's first word (every move of the suite asks).
    function _activeRoles(address account) private view returns (uint8 roles) {
        Member storage m = _members[account];
        uint256 head;
        assembly ("memory-safe") {
            head := sload(m.slot)
        }
        if (uint8(head) == uint8(MemberStatus.Active)) roles = uint8(head >> 8);
    }

    /// @dev The checks an admission passes whatever its path, in the order `admit` always had:
    ///      address, profile, status (never seen; or pending, with `pendingToo`), credit line.
    ///      Returns the firm's record.
    function _admissible(
        address account,
        string calldata name,
        uint8 roles,
        bytes32 kycHash,
        uint256 creditLimit,
        bool pendingToo
    ) private view returns (Member storage m) {
        if (account == address(0)) revert ZeroAddress();
        _validateProfile(name, roles, kycHash);
        m = _members[account];
        if (m.status != MemberStatus.None && !(pendingToo && m.status == MemberStatus.Pending)) {
            revert UnexpectedStatus(account, m.status);
        }
        if (creditLimit > type(uint128).max) revert CreditLimitTooLarge(creditLimit);
        if (creditLimit != 0 && roles & Roles.CORE_ENTERPRISE == 0) revert NotCoreEnterprise(account);
    }

    /// @dev The one write path of an admission: the firm becomes an active member.
    function _admit(
        address account,
        Member storage m,
        string calldata name,
        uint8 roles,
        bytes32 kycHash,
        uint256 creditLimit
    ) private {
        if (m.status == MemberStatus.None) m.round += 1;
        m.roles = roles;
        emit MemberAdmitted(account, msg.sender, roles, kycHash, name);
        _setStatus(account, m, MemberStatus.Active, bytes32(0));
        if (creditLimit != 0) _setCreditLimit(account, m, creditLimit);
    }

    function _validateProfile(string calldata name, uint8 roles, bytes32 kycHash) private pure {
        if (roles == 0 || roles > ALL_ROLES) revert InvalidRoles(roles);
        if (bytes(name).length == 0) revert EmptyName();
        if (bytes(name).length > MAX_NAME_BYTES) revert NameTooLong(bytes(name).length, MAX_NAME_BYTES);
        if (kycHash == bytes32(0)) revert MissingKycEvidence();
    }

    function _setStatus(address account, Member storage m, MemberStatus to, bytes32 reasonHash) private {
        MemberStatus from = m.status;
        m.status = to;
        m.updatedAt = uint40(block.timestamp);
        emit MemberStatusChanged(account, from, to, msg.sender, reasonHash);
    }

    function _setCreditLimit(address account, Member storage m, uint256 limit) private {
        emit CreditLimitSet(account, m.creditLimit, limit, msg.sender);
        m.creditLimit = uint128(limit);
    }

    /// @dev Keeps the approval threshold reachable: an operator cannot be revoked below it.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == OPERATOR_ROLE) {
            uint256 operators = getRoleMemberCount(OPERATOR_ROLE);
            if (operators < _approvalThreshold) revert InvalidThreshold(_approvalThreshold, operators);
        }
    }
}
