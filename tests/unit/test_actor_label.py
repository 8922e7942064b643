"""How pages name who acted: never by the internal ``kind:`` code."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xinyong.actors import actor_label, cli_operator


def test_each_kind_of_actor_has_a_name_people_read() -> None:
    assert actor_label("user:scjg-clerk") == "scjg-clerk"
    assert actor_label(cli_operator().name) == "信用办（命令行）"
    assert actor_label(cli_operator("demo").name) == "信用办（命令行）"
    assert actor_label("apikey:xy_0k42HCf") == "接口密钥 xy_0k42HCf"
    assert actor_label("system") == actor_label("system:tipoff-routing") == "系统"
    assert actor_label(None) == actor_label("") == "—"
    assert actor_label("公众举报人") == "公众举报人"


@given(
    st.sampled_from(["user", "cli", "apikey", "system"]),
    st.from_regex(r"[a-z0-9_-]{1,20}", fullmatch=True),
)
def test_no_label_carries_the_internal_prefix(kind: str, rest: str) -> None:
    assert not actor_label(f"{kind}:{rest}").startswith(f"{kind}:")
