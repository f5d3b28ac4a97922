"""Texts the real server sends or expects. Where the real text is unknown the invented one is marked,
and docs/simulator.md lists every invention."""

from __future__ import annotations

TERMS_VERSION = "1-0"
TERMS_MESSAGE = (
    "I agree to abide by the terms and conditions as described in version 1-0 of the Midnight scavenger "
    "mining process: 281ba5f69f4b943e3fb8a20390878a232787a04e4be22177f2472b63df01c200"
)
# The real `content` is the full terms document; only its first line is public in the API docs.
TERMS_CONTENT = (
    "**TOKEN END-USER TERMS**\n\nLast updated: 15 Aug 2025\n\n"
    "(Simulator copy: the full terms text is served by the real API only. Sign `message`, not this text.)"
)

DONATION_PREFIX = "Assign accumulated Scavenger rights to: "


def donation_message(destination: str) -> str:
    return DONATION_PREFIX + destination


# Solution errors: `{"statusCode", "message"}` without "error", as observed.
SOLUTION_NOT_REGISTERED = "Solution validation failed: Address is not registered"
SOLUTION_EXISTS = "Solution validation failed: Solution already exists"
SOLUTION_DIFFICULTY = "Solution validation failed: Solution does not meet difficulty"
SOLUTION_WINDOW_CLOSED = "Solution validation failed: Submission window closed"  # status/prefix invented
SOLUTION_BAD_NONCE = (
    "Solution validation failed: Invalid nonce - must be 16 lowercase hex characters"  # invented
)


def challenge_not_found(challenge_id: str) -> str:
    return f"Challenge not found: {challenge_id}"


# Registration errors: NestJS envelope {"message", "error", "statusCode"}.
REGISTER_BAD_PUBKEY = "Invalid pubkey format - must be 64-character hex string"
REGISTER_BAD_SIGNATURE_HEX = "signature must be a valid hexadecimal string"
CIP30_PREFIX = "CIP-30 signature verification failed: "
MESSAGE_MISMATCH = "Message in signature does not match provided message"


def wrong_network(expected: str, got: str, prefix: str = CIP30_PREFIX) -> str:
    return f"{prefix}Wrong network: expected {expected}, got {got}"


# Donation errors.
DONATE_SIG_PREFIX = "Invalid CIP-30 signature failed: "


def donate_message_mismatch(destination: str) -> str:
    return (
        f"{DONATE_SIG_PREFIX}{MESSAGE_MISMATCH}. Expected signature over message: "
        f'"{donation_message(destination)}"'
    )


def original_not_registered(original: str) -> str:
    return f"Original address {original} is not registered"


def destination_not_registered(destination: str) -> str:
    return f"Destination address {destination} is not registered"  # wording invented; keyword is real


def donation_conflict(original: str, current: str) -> str:
    return f"Original address {original} already has an active donation assignment to {current}"


def no_active_donation(original: str) -> str:
    return f"No active donation assignment found for address {original}"  # suffix invented


def chained_donation(destination: str) -> str:
    return f"Destination address {destination} has an active donation assignment; chains are not allowed"


def donation_success(original: str, destination: str) -> str:
    return f"Successfully assigned accumulated Scavenger rights from {original} to {destination}"


def donation_undone(original: str) -> str:
    return f"Successfully undid donation assignment for {original}"


def statistics_not_registered(address: str) -> str:
    return f"Address {address} is not registered"  # wording invented; keyword "not registered" is real


def terms_not_found(version: str) -> str:
    return f"Terms and Conditions version {version} not found"


RATE_LIMITED = "ThrottlerException: Too Many Requests"  # NestJS throttler default text

BOT_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Vercel Security Checkpoint</title></head>
<body><main><h1>We're verifying your browser</h1><p>Vercel Security Checkpoint</p>
<noscript>Please enable JavaScript to continue.</noscript></main></body></html>
"""
