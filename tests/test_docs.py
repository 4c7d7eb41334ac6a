"""The README and docs/: every relative link and image resolves (file, and heading anchor where one is named),
and the README stays a front door (issue 24: about 5-6 KB)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lowercase, punctuation dropped (hyphens and underscores kept),
    spaces to hyphens."""
    text = re.sub(r"`|\*\*|\*", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {github_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def broken_links(page: Path) -> list[str]:
    """The relative links of one Markdown page that do not resolve, as 'target (why)'."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    return broken


def test_github_slug_matches_githubs_rules():
    assert github_slug("The built-in corpus") == "the-built-in-corpus"
    assert github_slug("`make demo`: wav2vec 2.0 on the built-in corpus") == "make-demo-wav2vec-20-on-the-built-in-corpus"
    assert github_slug("SUPERB on 2 CPU cores (Figure 2 in miniature)") == "superb-on-2-cpu-cores-figure-2-in-miniature"


def test_the_checker_finds_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "other.md").write_text("# Real heading\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#real-heading) [gone](nope.md) [bad](other.md#not-there) ![img](fig.png) "
                    "[web](https://example.com/x)\n```\n[in a fence](ignored.md)\n```\n")
    assert broken_links(page) == ["nope.md (no such file)", "other.md#not-there (no heading #not-there in other.md)",
                                  "fig.png (no such file)"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_docs_exist_and_the_readme_links_each():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("recipes", "benchmarks", "reproduction", "data", "guarantees"):
        assert (ROOT / "docs" / f"{name}.md").is_file()
        assert f"(docs/{name}.md)" in readme, name


def test_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_bytes()) <= 6500, "README.md is over ~6 KB: move the detail to docs/"
