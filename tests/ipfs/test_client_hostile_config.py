"""ipfs.Client constructed with hostile configuration: refused at once with InvalidArgument
naming the value, instead of a misleading NotFound ("no source served a valid block") on the
first download. No network is touched."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "ftp://127.0.0.1", "127.0.0.1:5001",
                                 "gopher://127.0.0.1:70", "javascript:alert(1)"])
@pytest.mark.parametrize("which", ["rpc_urls", "gateway_urls"])
def test_source_url_that_is_not_http_is_invalid_argument(farmhand_core, url, which):
    kwargs = {"rpc_urls": ["http://127.0.0.1:5001"], "gateway_urls": []}
    kwargs[which] = [*kwargs[which], url]
    with pytest.raises(farmhand_core.ipfs.InvalidArgument,
                       match="must start with http:// or https://") as err:
        farmhand_core.ipfs.Client(**kwargs)
    assert f'"{url}"' in str(err.value)


@pytest.mark.parametrize("timeout_s", [float("inf"), 1e300, 86400.5])
def test_infinite_or_huge_timeout_is_invalid_argument(farmhand_core, timeout_s):
    with pytest.raises(farmhand_core.ipfs.InvalidArgument, match="at most 86400"):
        farmhand_core.ipfs.Client(rpc_urls=["http://127.0.0.1:5001"], timeout_s=timeout_s)


def test_http_and_https_urls_and_a_day_of_timeout_are_accepted(farmhand_core):
    client = farmhand_core.ipfs.Client(rpc_urls=["http://127.0.0.1:5001"],
                                       gateway_urls=["https://127.0.0.1:8443"], timeout_s=86400)
    assert client is not None
