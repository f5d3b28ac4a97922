"""Properties of the donate list parser: whatever bytes ``donate_list.txt`` holds, loading it gives exactly
its valid addresses (first appearance order, duplicates, comments, blank lines and surrounding blanks
dropped) or one StoreError naming the file and the line an editor shows; never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scavenger.wallet import Wallet, donate_list
from scavenger.wallet.errors import StoreError

WORDS = "test walk nut penalty hip pave soap entry language right filter choice"
MAINNET = Wallet.from_mnemonic(WORDS, "mainnet")
TESTNET = Wallet.from_mnemonic(WORDS, "testnet")
VALID = [MAINNET.address, MAINNET.enterprise_address]
SETTINGS = settings(max_examples=150, derandomize=True, deadline=None, database=None)

BLANK = st.text(alphabet=" \t\r", max_size=3)
VALID_LINE = st.builds(lambda pad1, address, pad2: pad1 + address + pad2,
                       BLANK, st.sampled_from(VALID), BLANK)
IGNORED_LINE = st.one_of(BLANK, st.builds(lambda pad, text: pad + "#" + text, BLANK,
                                          st.text(max_size=20).map(lambda t: t.replace("\n", " "))))
BAD_LINE = st.one_of(
    st.sampled_from([TESTNET.address, MAINNET.address[:-1], MAINNET.address + "q", WORDS, "addr1", "\x00",
                     MAINNET.address.upper() + "x", MAINNET.address + "\x0b0", "\ufeff" + MAINNET.address]),
    st.text(min_size=1, max_size=30).filter(
        lambda t: "\n" not in t and bool(t.strip()) and not t.strip().startswith("#")),
)


def load_text(content: bytes) -> donate_list.DonateList:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / donate_list.LIST_FILE).write_bytes(content)
        return donate_list.load(folder, "mainnet")


@SETTINGS
@given(lines=st.lists(st.one_of(VALID_LINE, IGNORED_LINE), max_size=12), crlf=st.booleans())
def test_valid_lists_give_their_addresses_in_order(lines: list[str], crlf: bool) -> None:
    content = ("\r\n" if crlf else "\n").join(lines).encode()
    expected = tuple(dict.fromkeys(line.strip() for line in lines if line.strip() in VALID))
    if not expected:
        try:
            load_text(content)
        except StoreError as exc:
            assert "contains no address" in str(exc)
            return
        raise AssertionError("a list without address was accepted")
    assert load_text(content).addresses == expected


@SETTINGS
@given(before=st.lists(st.one_of(VALID_LINE, IGNORED_LINE), max_size=6), bad=BAD_LINE,
       after=st.lists(st.one_of(VALID_LINE, IGNORED_LINE, BAD_LINE), max_size=4))
def test_the_first_bad_line_is_named_by_its_editor_line_number(
    before: list[str], bad: str, after: list[str]
) -> None:
    # A "\ufeff" (BOM) only marks the encoding at the very start; anywhere else it spoils the line.
    content = b"\xef\xbb\xbf" + "\n".join([*before, bad, *after]).encode("utf-8", "surrogatepass")
    try:
        load_text(content)
    except StoreError as exc:
        message = str(exc)
        assert donate_list.LIST_FILE in message
        if "not UTF-8" not in message:
            assert f", line {len(before) + 1}:" in message, message
            assert WORDS not in message  # a mnemonic pasted into the wrong file is not echoed
        return
    raise AssertionError(f"bad line {bad!r} was accepted")


@SETTINGS
@given(content=st.binary(max_size=200)
       | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_give_addresses_or_one_store_error(content: bytes) -> None:
    try:
        result = load_text(content)
    except StoreError as exc:
        assert donate_list.LIST_FILE in str(exc)
        return
    assert result.addresses and set(result.addresses) <= set(VALID)


def test_edge_cases_found_by_the_properties() -> None:
    # A comment holding \x0b (or \x1c, \x85, U+2028) was split into a bogus address line by splitlines().
    assert load_text(f"# note\x0bwith a vertical tab\n{MAINNET.address}\n".encode()).addresses == (
        MAINNET.address,)
    # Notepad's UTF-8 files start with a byte order mark.
    assert load_text(b"\xef\xbb\xbf" + MAINNET.address.encode() + b"\r\n").addresses == (MAINNET.address,)
