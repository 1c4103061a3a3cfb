"""Dashboard text blocks: paths on this server become links; nothing else does, and the text stays escaped."""

from __future__ import annotations

from machidata.charts.templatetags.charts_text import link_site_paths


def test_site_paths_become_links_and_other_hosts_do_not() -> None:
    assert (
        link_site_paths("KPIは /ebpm/strategy/ で確認")
        == 'KPIは <a href="/ebpm/strategy/">/ebpm/strategy/</a> で確認'
    )
    for text in ("//evil.example/x/", "https://evil.example/a/", "C:/tmp/a/", "file.ext/a/"):
        assert "<a " not in link_site_paths(text), text
    assert link_site_paths("<script>alert(1)</script> /a/") == (
        '&lt;script&gt;alert(1)&lt;/script&gt; <a href="/a/">/a/</a>'
    )
