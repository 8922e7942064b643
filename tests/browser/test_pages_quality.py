"""Every page: Chinese text really rendered, HTML that parses, labels, one <h1>, contrast."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Server, login, shot
from tests.factories import resident_id

VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)  # fmt: skip
LABELLABLE = frozenset({"input", "select", "textarea"})


class PageChecker(HTMLParser):
    """A strict-ish reading of one page: balanced tags and the accessibility basics."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.h1 = 0
        self.lang: str | None = None
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, str | None, bool]] = []  # (tag, id, labelled inline)
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "h1":
            self.h1 += 1
        if a.get("id"):
            if a["id"] in self.ids:
                self.problems.append(f"duplicate id {a['id']}")
            self.ids.add(a["id"] or "")
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"] or "")
        if tag == "img" and not a.get("alt"):
            self.problems.append("img without alt")
        if tag in LABELLABLE and a.get("type") not in ("hidden", "submit", "button"):
            inline = "label" in self.stack or bool(a.get("aria-label"))
            self.controls.append((tag, a.get("id"), inline))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void element </{tag}>")
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '-'}>")
            if tag in self.stack:  # resynchronise
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def verdict(self) -> list[str]:
        problems = list(self.problems)
        if not self.doctype:
            problems.append("no <!doctype html>")
        if self.lang != "zh-CN":
            problems.append(f'<html lang="{self.lang}"> is not zh-CN')
        if self.h1 != 1:
            problems.append(f"{self.h1} <h1> elements")
        if self.stack:
            problems.append(f"unclosed {self.stack}")
        for tag, ident, inline in self.controls:
            if not inline and (ident is None or ident not in self.label_for):
                problems.append(f"<{tag} id={ident}> has no label")
        return problems


def check_html(html: str) -> list[str]:
    checker = PageChecker()
    checker.feed(html)
    checker.close()
    return checker.verdict()


def test_the_checker_finds_problems() -> None:
    bad = '<!doctype html><html lang="en"><body><h1>a</h1><h1>b</h1><div><span></div><input id="x"><img src="a"></body></html>'
    problems = " ".join(check_html(bad))
    for expected in ("zh-CN", "2 <h1>", "</div> closes <span>", "no label", "img without alt"):
        assert expected in problems


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _pages(server: Server) -> dict[str, tuple[httpx.Client, list[str]]]:
    public = server.client()
    person = server.login_client("person1")
    clerk = server.login_client("scjg-clerk")
    admin = server.login_client("admin")
    reviewer = server.login_client("scjg-reviewer")
    auditor = server.login_client("auditor")
    bank = server.login_client("bank")
    # A check of a person outside the archive, to have a result page.
    form = clerk.get("/workbench/check").text
    resp = clerk.post(
        "/workbench/check",
        data={
            "csrf_token": _csrf(form),
            "id_number": resident_id(seq=901),
            "scenario": "ADMIN_LICENSING",
            "operator": "李经办",
            "business_ref": "HTML-1",
        },
    )
    assert resp.status_code == 303
    check_url = resp.headers["location"]
    me = person.get("/me").text
    object_link = re.search(r'href="(/me/objections/new\?record=\d+)"', me)
    repair_link = re.search(r'href="(/me/repairs/new\?record=\d+)"', me)
    person_pages = ["/me", "/me/reports", "/workbench"]
    person_pages += [m.group(1) for m in (object_link, repair_link) if m]
    first_batch = re.search(r'href="(/workbench/batches/\d+)"', admin.get("/workbench").text)
    assert first_batch
    listing = public.get("/disclosures?category=penalty").text
    detail_pages = re.findall(r'href="(/disclosures/(?:subject|record)/[A-Za-z0-9_-]+)"', listing)[
        :2
    ]
    assert len(detail_pages) == 2
    return {
        "public": (
            public,
            [
                "/",
                "/disclosures?category=black",
                "/disclosures?category=red",
                "/disclosures?category=penalty&page=2",
                "/disclosures?category=licence",
                "/disclosures?category=black&q=某",
                "/articles/honour_case",
                "/articles/warning_case",
                "/articles/knowledge",
                "/articles/policy",
                "/article/1",
                "/article/999999",
                "/guides",
                "/login",
                "/register",
                "/tipoffs",
                "/reports/verify",
                "/reports/verify/NOSUCHCODE",
                "/articles/news",
                "/nope",
                "/disclosures?page=abc",
                *detail_pages,
            ],
        ),
        "person": (person, person_pages),
        "clerk": (
            clerk,
            [
                "/workbench",
                "/workbench/batches",
                "/workbench/check",
                "/workbench/compare",
                "/workbench/interviews",
                "/workbench/templates",
                check_url,
            ],
        ),
        "auditor": (
            auditor,
            [
                "/console/audit",
                "/console/audit?domain=query:&since=2020-01-01",
                "/console/audit?since=bad",
                "/console/audit/alerts",
                "/console/audit/alerts?all=1",
                "/console/audit/chain",
                "/console",
            ],
        ),
        "institution": (bank, ["/institution", "/me", "/console/audit"]),
        "reviewer": (
            reviewer,
            ["/workbench", "/workbench/batches", "/workbench/objections", "/workbench/repairs"],
        ),
        "admin": (
            admin,
            [
                "/console",
                "/console?period=2026-Q3",
                "/console/articles",
                "/console/articles/new",
                "/console/articles/1",
                "/console/catalog",
                "/console/catalog?section=measures",
                "/console/catalog?section=scenarios",
                "/console/accounts",
                "/console/archive",
                "/console/audit",
                "/workbench/interviews",
                "/workbench/objections",
                "/workbench/repairs",
                "/workbench/tipoffs",
                first_batch.group(1),
            ],
        ),
    }


def test_every_page_is_valid_and_accessible_html(server: Server) -> None:
    failures: dict[str, list[str]] = {}
    seen = 0
    for role, (client, paths) in _pages(server).items():
        for path in paths:
            resp = client.get(path, headers={"accept": "text/html"})
            assert resp.status_code in (200, 403, 404, 422), (role, path, resp.status_code)
            assert resp.headers["content-type"].startswith("text/html")
            assert "Traceback" not in resp.text
            problems = check_html(resp.text)
            if problems:
                failures[f"{role} {path}"] = problems
            seen += 1
    assert seen >= 30
    assert not failures, failures


def test_pages_answering_a_form_are_valid_and_accessible_html(server: Server) -> None:
    """The pages a POST renders: a query's result, a refusal, a chain check."""
    bank = server.login_client("bank")
    home = bank.get("/institution").text
    options = dict(
        (status, ident)
        for ident, status in re.findall(
            r'<option value="(\d+)"[^>]*>授权 #\d+ · [^<]* · ([^<·]+)</option>', home
        )
    )
    assert "有效" in options and "已撤回" in options, options
    answers = []
    for kind in ("archive", "score", "lists", "report"):
        data = {"csrf_token": _csrf(home), "authorization_id": options["有效"], "kind": kind}
        answers.append(bank.post("/institution/query", data=data))
    data = {"csrf_token": _csrf(home), "authorization_id": options["已撤回"], "kind": "archive"}
    answers.append(bank.post("/institution/query", data=data))
    auditor = server.login_client("auditor")
    chain = auditor.get("/console/audit/chain").text
    answers.append(
        auditor.post("/console/audit/chain", data={"csrf_token": _csrf(chain), "latest": "all"})
    )
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 403, 200]
    failures = {str(a.request.url): check_html(a.text) for a in answers if check_html(a.text)}
    assert not failures, failures


def _contrast(page: Page, selector: str) -> float:
    return float(
        page.evaluate(
            """(sel) => {
      const el = document.querySelector(sel);
      const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      let bg = null, node = el;
      while (node && node.nodeType === 1) {
        const c = parse(getComputedStyle(node).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { bg = c; break; }
        node = node.parentElement;
      }
      bg = bg || [255, 255, 255];
      const fg = parse(getComputedStyle(el).color);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      return (a + 0.05) / (b + 0.05);
    }""",
            selector,
        )
    )


def test_text_contrast_and_focus_order(page: Page) -> None:
    page.goto("/")
    for selector in (
        "main p.muted",
        ".site-nav a",
        ".brand",
        "button.primary",
        "main h1",
        ".site-footer p",
        ".stat a",
    ):
        ratio = _contrast(page, selector)
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f} below WCAG AA 4.5:1"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/"


@pytest.mark.parametrize("path", ["/", "/guides"])
def test_chinese_text_renders_with_a_cjk_font(page: Page, path: str) -> None:
    page.goto(path)
    page.evaluate("document.fonts.ready")
    assert page.evaluate("""document.fonts.check('16px "Noto Sans CJK SC"')""")
    # Tofu (missing-glyph boxes) all have one width and one shape: real glyphs differ.
    widths = page.evaluate(
        """() => {
      const c = document.createElement('canvas').getContext('2d');
      c.font = '32px "Noto Sans CJK SC"';
      return ['信', '一', '鑫', 'i'].map((t) => c.measureText(t).width); }"""
    )
    assert widths[0] == pytest.approx(widths[1])  # CJK glyphs share the em square
    assert widths[3] < widths[0]
    pixels = page.evaluate(
        """() => {
      const draw = (ch) => {
        const cv = document.createElement('canvas'); cv.width = 48; cv.height = 48;
        const c = cv.getContext('2d'); c.fillStyle = '#fff'; c.fillRect(0, 0, 48, 48);
        c.fillStyle = '#000'; c.font = '40px "Noto Sans CJK SC"'; c.textBaseline = 'top';
        c.fillText(ch, 4, 4);
        const d = c.getImageData(0, 0, 48, 48).data; let ink = [];
        for (let i = 0; i < d.length; i += 4) ink.push(d[i] < 128 ? 1 : 0);
        return ink; };
      const a = draw('信'), b = draw('用'), box = draw('\\u{10FFFD}');
      const diff = (x, y) => x.reduce((n, v, i) => n + (v !== y[i] ? 1 : 0), 0);
      const ink = (x) => x.reduce((n, v) => n + v, 0);
      return { ab: diff(a, b), aBox: diff(a, box), inkA: ink(a), inkB: ink(b) }; }"""
    )
    assert pixels["inkA"] > 50 and pixels["inkB"] > 50, "no glyph was drawn"
    assert pixels["ab"] > 50, "信 and 用 render the same shape: tofu"
    assert pixels["aBox"] > 50, "信 renders like a missing-glyph box"
    # And the page's own heading is drawn in the CJK font, not a fallback box.
    family = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "Noto Sans CJK SC" in family
    shot(page, "cjk-home" if path == "/" else f"cjk{path.replace('/', '-')}", full_page=False)


def test_login_page_after_logout(page: Page) -> None:
    login(page, "admin")
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/")
    assert page.get_by_role("link", name="登录", exact=True).count() == 1
