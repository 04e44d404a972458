"""The coordinator's CID syntax check (multiformats CID spec)."""

from __future__ import annotations

import pytest

from coordinator.cid import CidError, validate_cid


@pytest.mark.parametrize("cid", [
    "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",                  # v0 dag-pb
    "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",      # v1 raw, base32
    "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",      # v1 dag-pb, base32
    "BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU",      # base32 upper
    "f01551220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # base16
])
def test_accepts_well_formed_cids(cid):
    assert validate_cid(cid) == cid


@pytest.mark.parametrize("cid, reason", [
    ("", "empty"),
    ("Qm123", "46"),
    ("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1Aw0H", "base58btc"),    # '0' not in alphabet
    ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk", "multibase"),  # truncated
    ("bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "codec"),  # dag-cbor
    ("f01551220e3b0c442", "declares"),                                 # short digest
    ("mAXASIA", "multibase prefix"),                                    # base64 not accepted
    ("f02551220" + "00" * 32, "version"),
])
def test_rejects_malformed_cids_saying_why(cid, reason):
    with pytest.raises(CidError, match=reason):
        validate_cid(cid)
