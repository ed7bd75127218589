// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControlEnumerable} from "@openzeppelin/contracts/access/extensions/AccessControlEnumerable.sol";
import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";

/// @title ConsortiumRegistry
/// @notice Members of the supply-chain finance consortium: who they are, what they may do,
///         whether they are active, and the credit limits of core enterprises.
/// @dev Governance (DEFAULT_ADMIN_ROLE) appoints operators and sets the approval threshold;
///      operators admit, suspend, reinstate and remove members. Every contract of the suite
///      asks this registry before it lets an address hold or receive anything.
contract ConsortiumRegistry is AccessControlEnumerable, IConsortiumRegistry {
    /// @notice Operators run the consortium day to day.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    uint8 public constant ROLE_CORE_ENTERPRISE = 1;
    uint8 public constant ROLE_SUPPLIER = 2;
    uint8 public constant ROLE_FINANCIER = 4;
    uint8 public constant ROLE_AUDITOR = 8;
    uint8 public constant ALL_ROLES = 15;

    enum MemberStatus {
        None,
        Pending,
        Active,
        Suspended,
        Removed
    }

    /// @dev Word 0 packs what every permission check reads.
    struct Member {
        MemberStatus status;
        uint8 roles;
        uint16 approvals;
        uint32 round;
        uint40 updatedAt;
        uint128 creditLimit;
        bytes32 kycHash;
        string name;
    }

    mapping(address account => Member) private _members;
    mapping(address applicant => mapping(uint32 round => mapping(address operator => bool))) private _approvedBy;
    mapping(address account => bool) private _systemAccounts;
    uint16 private _approvalThreshold;

    event MembershipApplied(address indexed applicant, uint32 round, uint8 roles, bytes32 kycHash, string name);
    event ApplicationApproved(address indexed applicant, address indexed operator, uint16 approvals, uint16 threshold);
    event ApplicationRejected(address indexed applicant, address indexed operator, bytes32 reasonHash);
    event MemberAdmitted(address indexed account, address indexed operator, uint8 roles, bytes32 kycHash, string name);
    event MemberStatusChanged(
        address indexed account, MemberStatus from, MemberStatus to, address indexed operator, bytes32 reasonHash
    );
    event MemberRolesChanged(address indexed account, uint8 from, uint8 to, address indexed operator);
    event CreditLimitSet(address indexed account, uint256 from, uint256 to, address indexed operator);
    event ApprovalThresholdSet(uint16 from, uint16 to);
    event SystemAccountSet(address indexed account, bool enabled);

    error ZeroAddress();
    error InvalidRoles(uint8 roles);
    error EmptyName();
    error MissingKycEvidence();
    error UnexpectedStatus(address account, MemberStatus actual);
    error AlreadyApproved(address applicant, address operator);
    error InvalidThreshold(uint16 threshold, uint256 operators);
    error NotCoreEnterprise(address account);
    error NotOperator(address account);
    error CreditLimitTooLarge(uint256 limit);

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
        m.kycHash = kycHash;
        m.name = name;
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

    /// @notice An operator rejects a pending application; the firm may apply again.
    function rejectApplication(address applicant, bytes32 reasonHash) external onlyOperator {
        Member storage m = _members[applicant];
        if (m.status != MemberStatus.Pending) revert UnexpectedStatus(applicant, m.status);
        emit ApplicationRejected(applicant, msg.sender, reasonHash);
        _setStatus(applicant, m, MemberStatus.Removed, reasonHash);
    }

    /// @notice An operator admits a firm directly (consortium seeding), bypassing the approval
    ///         round. Only for an address that never applied or whose application is pending;
    ///         a removed member must apply again.
    function admit(address account, string calldata name, uint8 roles, bytes32 kycHash, uint256 creditLimit)
        external
        onlyOperator
    {
        if (account == address(0)) revert ZeroAddress();
        _validateProfile(name, roles, kycHash);
        Member storage m = _members[account];
        if (m.status != MemberStatus.None && m.status != MemberStatus.Pending) {
            revert UnexpectedStatus(account, m.status);
        }
        if (m.status == MemberStatus.None) m.round += 1;
        m.roles = roles;
        m.kycHash = kycHash;
        m.name = name;
        emit MemberAdmitted(account, msg.sender, roles, kycHash, name);
        _setStatus(account, m, MemberStatus.Active, bytes32(0));
        if (creditLimit != 0) _setCreditLimit(account, m, creditLimit);
    }

    // ------------------------------------------------------------------ lifecycle

    /// @notice Suspends an active member: it can neither send nor receive vouchers or cash.
    function suspend(address account, bytes32 reasonHash) external onlyOperator {
        Member storage m = _members[account];
        if (m.status != MemberStatus.Active) revert UnexpectedStatus(account, m.status);
        _setStatus(account, m, MemberStatus.Suspended, reasonHash);
    }

    /// @notice Reinstates a suspended member.
    function reinstate(address account) external onlyOperator {
        Member storage m = _members[account];
        if (m.status != MemberStatus.Suspended) revert UnexpectedStatus(account, m.status);
        _setStatus(account, m, MemberStatus.Active, bytes32(0));
    }

    /// @notice Removes a pending, active or suspended member. It may come back only through a
    ///         new application.
    function remove(address account, bytes32 reasonHash) external onlyOperator {
        Member storage m = _members[account];
        if (m.status == MemberStatus.None || m.status == MemberStatus.Removed) {
            revert UnexpectedStatus(account, m.status);
        }
        _setStatus(account, m, MemberStatus.Removed, reasonHash);
    }

    /// @notice Changes the roles of an active or suspended member.
    function setRoles(address account, uint8 roles) external onlyOperator {
        if (roles == 0 || roles > ALL_ROLES) revert InvalidRoles(roles);
        Member storage m = _members[account];
        if (m.status != MemberStatus.Active && m.status != MemberStatus.Suspended) {
            revert UnexpectedStatus(account, m.status);
        }
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
    ///         face value it may have outstanding in unsettled issuances.
    function setCreditLimit(address account, uint256 limit) external onlyOperator {
        Member storage m = _members[account];
        if (m.status != MemberStatus.Active && m.status != MemberStatus.Suspended) {
            revert UnexpectedStatus(account, m.status);
        }
        _setCreditLimit(account, m, limit);
    }

    // ----------------------------------------------------------------- governance

    /// @notice Sets how many operator approvals an application needs (k of n operators).
    function setApprovalThreshold(uint16 threshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 operators = getRoleMemberCount(OPERATOR_ROLE);
        if (threshold == 0 || threshold > operators) revert InvalidThreshold(threshold, operators);
        emit ApprovalThresholdSet(_approvalThreshold, threshold);
        _approvalThreshold = threshold;
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
        Member storage m = _members[account];
        return m.status == MemberStatus.Active ? m.roles : 0;
    }

    /// @inheritdoc IConsortiumRegistry
    function rolesIfActivePair(address a, address b) external view returns (uint8 rolesA, uint8 rolesB) {
        return (rolesIfActive(a), rolesIfActive(b));
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

    /// @notice Operator approvals an application needs.
    function approvalThreshold() external view returns (uint16) {
        return _approvalThreshold;
    }

    /// @notice Whether `operator` approved the current application round of `applicant`.
    function hasApproved(address applicant, address operator) external view returns (bool) {
        return _approvedBy[applicant][_members[applicant].round][operator];
    }

    /// @notice Hyperledger Besu account permissioning hook: active members, operators and
    ///         system contracts may send transactions; anyone else only its membership
    ///         application to this registry.
    /// @dev Besu calls this for every transaction when on-chain account permissioning is on.
    function transactionAllowed(address sender, address target, uint256, uint256, uint256, bytes calldata payload)
        external
        view
        returns (bool)
    {
        if (target == address(this) && payload.length >= 4 && bytes4(payload[:4]) == this.applyForMembership.selector) {
            return true;
        }
        // Accepted slither finding (incorrect-equality): an enum status, as above.
        // slither-disable-next-line incorrect-equality
        return _members[sender].status == MemberStatus.Active || hasRole(OPERATOR_ROLE, sender)
            || hasRole(DEFAULT_ADMIN_ROLE, sender) || _systemAccounts[sender];
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

    function _validateProfile(string calldata name, uint8 roles, bytes32 kycHash) private pure {
        if (roles == 0 || roles > ALL_ROLES) revert InvalidRoles(roles);
        if (bytes(name).length == 0) revert EmptyName();
        if (kycHash == bytes32(0)) revert MissingKycEvidence();
    }

    function _setStatus(address account, Member storage m, MemberStatus to, bytes32 reasonHash) private {
        MemberStatus from = m.status;
        m.status = to;
        m.updatedAt = uint40(block.timestamp);
        emit MemberStatusChanged(account, from, to, msg.sender, reasonHash);
    }

    function _setCreditLimit(address account, Member storage m, uint256 limit) private {
        if ((m.roles & ROLE_CORE_ENTERPRISE) == 0) revert NotCoreEnterprise(account);
        if (limit > type(uint128).max) revert CreditLimitTooLarge(limit);
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
