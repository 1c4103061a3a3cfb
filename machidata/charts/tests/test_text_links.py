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


def test_table_rows_escape_every_cell_as_the_template_did() -> None:
    from django.template import Context, Template
    from django.utils.safestring import mark_safe

    from machidata.charts.templatetags.charts_text import table_rows

    body = [["中央区", "1,234"], ["<b>東区</b>", "a & 'b' \"c\""], [mark_safe("<i>＊</i>"), 5]]
    loops = Template(
        "{% for line in body %}<tr>{% for cell in line %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}"
    ).render(Context({"body": body}))
    assert table_rows(body) == loops
    assert "<td>&lt;b&gt;東区&lt;/b&gt;</td>" in table_rows(body)
    assert table_rows([]) == ""
