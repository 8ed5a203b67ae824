// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// A minimal ERC-20 for Settle's tests against a local node (anvil). Decimals are set at
/// deployment (6 like USDT on Ethereum and Polygon, 18 like USDT on BSC); anyone may mint. A
/// transfer to a blocked recipient reverts, so tests can put a failed token payment in a block.
contract TestToken {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    /// Recipients whose incoming transfers revert.
    mapping(address => bool) public blocked;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function mint(address to, uint256 value) external {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function setBlocked(address recipient, bool value) external {
        blocked[recipient] = value;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= value, "TestToken: allowance");
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - value;
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) private {
        require(!blocked[to], "TestToken: recipient blocked");
        require(balanceOf[from] >= value, "TestToken: balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// Refuses every ether payment, so a native transfer to it is a mined transaction with status 0.
contract EtherRejector {
    receive() external payable {
        revert("EtherRejector: no ether");
    }
}

/// Pays several recipients in one transaction (transferFrom the caller, who approved it first):
/// many Transfer logs of one transaction in one block.
contract BatchSender {
    function sendTokens(TestToken token, address[] calldata to, uint256[] calldata values) external {
        require(to.length == values.length, "BatchSender: lengths");
        for (uint256 i = 0; i < to.length; i++) {
            require(token.transferFrom(msg.sender, to[i], values[i]), "BatchSender: transfer");
        }
    }
}
