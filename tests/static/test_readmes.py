"""README.md and README.ko.md say the same thing in two languages.

The Korean README is a translation, so the two must keep the same shape:

(a) the same sequence of heading levels (headings inside fenced code blocks
    are not headings), with the same inline code in each pair of headings;
(b) the same fenced code blocks, in the same order, with identical contents
    (commands are never translated);
(c) the same set of ``make <target>`` and ``playbooks/<name>.yml`` mentions
    outside code blocks (in prose and inline code).

Also, every relative link and ``#anchor`` link in either README resolves.
A failure names the line in each file where the two diverge.
"""

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EN = ROOT / "README.md"
KO = ROOT / "README.ko.md"

FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
HEADING = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
# An inline code span: a run of backticks, then anything but a blank line, then
# the same run (not part of a longer one).
CODE_SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?P<code>(?:(?!\n[ \t]*\n).)+?)(?<!`)(?P=ticks)(?!`)", re.S)
MAKE = re.compile(r"\bmake[ \t]+(?P<target>[a-z0-9][a-z0-9_-]*)")
PLAYBOOK = re.compile(r"(?<![\w/.-])playbooks/[\w.-]+\.ya?ml\b")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)(?:[ \t]+\"[^\"]*\")?\)")


@dataclass
class Heading:
    line: int
    level: int
    text: str

    def __str__(self):
        return f"line {self.line}: {'#' * self.level} {self.text}"


@dataclass
class CodeBlock:
    line: int
    content: str


@dataclass
class Doc:
    name: str
    headings: list = field(default_factory=list)
    blocks: list = field(default_factory=list)
    prose: str = ""  # the text outside fenced code blocks (blocks blanked out, line numbers kept)


def parse(text, name="<markdown>"):
    """Headings, fenced code blocks and the rest (prose) of a markdown text."""
    doc = Doc(name)
    prose = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = FENCE_OPEN.match(line)
        if opening and not (opening["fence"][0] == "`" and "`" in opening["info"]):
            fence, indent = opening["fence"], len(opening["indent"].expandtabs(4))
            closing = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
            body = []
            j = i + 1
            while j < len(lines) and not closing.match(lines[j]):
                # A fence indented inside a list item: its lines carry that indentation too.
                body.append(re.sub(r"^ {0,%d}" % indent, "", lines[j].expandtabs(4)) if indent else lines[j])
                j += 1
            doc.blocks.append(CodeBlock(i + 1, "\n".join(body)))
            prose.extend([""] * (j + 1 - i))  # an unclosed fence runs to the end, as in CommonMark
            i = j + 1
            continue
        heading = HEADING.match(line)
        if heading:
            doc.headings.append(Heading(i + 1, len(heading["hashes"]), (heading["text"] or "").strip()))
        prose.append(line)
        i += 1
    doc.prose = "\n".join(prose[: len(lines)])
    return doc


def code_spans(text):
    return [" ".join(m["code"].split()) for m in CODE_SPAN.finditer(text)]


def mentions(doc, make_targets=None):
    """`make <target>` and `playbooks/<name>.yml` mentioned outside code blocks.

    `make X` counts inside inline code always; in plain prose only when X is
    one of make_targets (None: any), so that the English verb ("make sure")
    is not taken for a target.
    """
    found = set()
    for span in code_spans(doc.prose):
        found.update(f"make {m['target']}" for m in MAKE.finditer(span))
    for m in MAKE.finditer(CODE_SPAN.sub(" ", doc.prose)):
        if make_targets is None or m["target"] in make_targets:
            found.add(f"make {m['target']}")
    found.update(PLAYBOOK.findall(doc.prose))
    return found


def compare(en, ko, make_targets=None):
    """Where two parsed READMEs diverge: a list of messages, empty when they agree."""
    problems = []

    # (a) heading levels, and the code in each pair of headings
    for n, (a, b) in enumerate(zip(en.headings, ko.headings), 1):
        if a.level != b.level:
            problems.append(
                f"heading levels diverge at heading #{n}: {en.name} {a} (level {a.level}) "
                f"vs {ko.name} {b} (level {b.level})"
            )
            break
        if code_spans(a.text) != code_spans(b.text):
            problems.append(
                f"heading #{n} keeps other code: {en.name} {a} has {code_spans(a.text)}, "
                f"{ko.name} {b} has {code_spans(b.text)}"
            )
    else:
        if len(en.headings) != len(ko.headings):
            longer, shorter = (en, ko) if len(en.headings) > len(ko.headings) else (ko, en)
            extra = longer.headings[len(shorter.headings)]
            problems.append(
                f"{en.name} has {len(en.headings)} headings, {ko.name} has {len(ko.headings)}: "
                f"the first one {shorter.name} lacks is {longer.name} {extra}"
            )

    # (b) fenced code blocks, contents in order
    for n, (a, b) in enumerate(zip(en.blocks, ko.blocks), 1):
        if a.content != b.content:
            diff = "\n".join(
                difflib.unified_diff(
                    a.content.splitlines(), b.content.splitlines(),
                    f"{en.name}:{a.line}", f"{ko.name}:{b.line}", lineterm="", n=1,
                )
            )
            problems.append(
                f"code block #{n} differs: {en.name} line {a.line} vs {ko.name} line {b.line}\n{diff}"
            )
            break
    else:
        if len(en.blocks) != len(ko.blocks):
            longer, shorter = (en, ko) if len(en.blocks) > len(ko.blocks) else (ko, en)
            extra = longer.blocks[len(shorter.blocks)]
            problems.append(
                f"{en.name} has {len(en.blocks)} code blocks, {ko.name} has {len(ko.blocks)}: "
                f"the first one {shorter.name} lacks starts at {longer.name} line {extra.line}"
            )

    # (c) make targets and playbooks mentioned in prose and inline code
    en_mentions, ko_mentions = mentions(en, make_targets), mentions(ko, make_targets)
    if en_mentions != ko_mentions:
        problems.append(
            "make/playbook mentions differ: only in "
            f"{en.name}: {sorted(en_mentions - ko_mentions)}; only in {ko.name}: {sorted(ko_mentions - en_mentions)}"
        )
    return problems


def makefile_targets():
    return set(re.findall(r"^([a-z0-9][a-z0-9_-]*)[ \t]*:(?!=)", (ROOT / "Makefile").read_text(), re.M))


def github_anchor(heading_text):
    """The anchor GitHub gives a heading (github-slugger): rendered text, lower
    case, punctuation and symbols dropped, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading_text)  # links: their text
    text = text.replace("`", "").replace("*", "")
    return "".join(
        "-" if ch == " " else ch
        for ch in text.strip().lower()
        if ch in " -_" or unicodedata.category(ch)[0] in "LMN"
    )


def anchors(doc):
    seen, result = {}, set()
    for h in doc.headings:
        base = github_anchor(h.text)
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f"{base}-{n}")
    return result


def broken_links(doc, base_dir):
    problems = []
    doc_anchors = anchors(doc)
    for m in LINK.finditer(doc.prose):
        target = m["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        line = doc.prose.count("\n", 0, m.start()) + 1
        path, _, anchor = target.partition("#")
        if path and not (base_dir / path).exists():
            problems.append(f"{doc.name} line {line}: link to {target}: no such file")
        elif not path and anchor not in doc_anchors:
            problems.append(f"{doc.name} line {line}: link to #{anchor}: no such heading")
    return problems


# --- the two READMEs --------------------------------------------------------


@pytest.fixture(scope="module")
def readmes():
    return parse(EN.read_text(encoding="utf-8"), EN.name), parse(KO.read_text(encoding="utf-8"), KO.name)


def test_readmes_have_the_same_structure(readmes):
    en, ko = readmes
    assert en.headings and en.blocks, "README.md parsed to no headings or no code blocks"
    problems = compare(en, ko, makefile_targets())
    assert not problems, "README.md and README.ko.md diverge:\n" + "\n".join(problems)


def test_readme_links_resolve(readmes):
    problems = [p for doc in readmes for p in broken_links(doc, ROOT)]
    assert not problems, "\n".join(problems)


def test_readmes_link_to_each_other(readmes):
    en, ko = readmes
    assert "](README.ko.md)" in "\n".join(en.prose.splitlines()[:5]), "README.md: no link to README.ko.md at the top"
    assert "](README.md)" in "\n".join(ko.prose.splitlines()[:5]), "README.ko.md: no link to README.md at the top"


# --- the checker itself -----------------------------------------------------

SAMPLE_EN = """\
# Title

Run `make demo`, then `playbooks/site.yml`.

## Part one

```sh
make demo   # a comment
```

### Detail

```
# not a heading
ansible-playbook playbooks/site.yml
```
"""

SAMPLE_KO = """\
# 제목

`make demo`를 실행한 뒤 `playbooks/site.yml`.

## 첫째 부분

```sh
make demo   # a comment
```

### 세부

```
# not a heading
ansible-playbook playbooks/site.yml
```
"""


def test_checker_accepts_a_faithful_translation():
    en, ko = parse(SAMPLE_EN, "en.md"), parse(SAMPLE_KO, "ko.md")
    assert [h.level for h in en.headings] == [1, 2, 3]  # the '# not a heading' line is in a code block
    assert len(en.blocks) == 2
    assert mentions(en) == {"make demo", "playbooks/site.yml"}
    assert compare(en, ko) == []


def test_checker_reports_a_different_heading_level():
    ko = SAMPLE_KO.replace("### 세부", "## 세부")
    problems = compare(parse(SAMPLE_EN, "en.md"), parse(ko, "ko.md"))
    assert len(problems) == 1
    assert "heading levels diverge at heading #3" in problems[0]
    assert "en.md line 11" in problems[0] and "ko.md line 11" in problems[0]


def test_checker_reports_a_missing_heading():
    ko = SAMPLE_KO.replace("### 세부\n", "")
    problems = compare(parse(SAMPLE_EN, "en.md"), parse(ko, "ko.md"))
    assert problems == ["en.md has 3 headings, ko.md has 2: the first one ko.md lacks is en.md line 11: ### Detail"]


def test_checker_reports_a_different_code_block():
    ko = SAMPLE_KO.replace("make demo   # a comment", "make demo   # 주석")
    problems = compare(parse(SAMPLE_EN, "en.md"), parse(ko, "ko.md"))
    assert len(problems) == 1
    assert problems[0].startswith("code block #1 differs: en.md line 7 vs ko.md line 7")
    assert "-make demo   # a comment" in problems[0] and "+make demo   # 주석" in problems[0]


def test_checker_reports_a_missing_code_block():
    ko = SAMPLE_KO[: SAMPLE_KO.index("```\n# not")]
    problems = compare(parse(SAMPLE_EN, "en.md"), parse(ko, "ko.md"))
    assert "en.md has 2 code blocks, ko.md has 1: the first one ko.md lacks starts at en.md line 13" in problems


def test_checker_reports_different_mentions():
    ko = SAMPLE_KO.replace("`make demo`", "`make test`").replace("`playbooks/site.yml`", "`site.yml`")
    problems = compare(parse(SAMPLE_EN, "en.md"), parse(ko, "ko.md"))
    assert problems == [
        "make/playbook mentions differ: only in en.md: ['make demo', 'playbooks/site.yml']; only in ko.md: ['make test']"
    ]


def test_checker_takes_make_in_plain_prose_only_for_targets():
    doc = parse("Make sure to make demo, not make sure.\n")
    assert mentions(doc, {"demo", "test"}) == {"make demo"}


def test_checker_reads_indented_fences_in_list_items():
    en = parse("- item\n\n  ```\n  RESULT: OK\n  ```\n")
    ko = parse("- 항목\n\n    ```\n    RESULT: OK\n    ```\n")
    assert [b.content for b in en.blocks] == ["RESULT: OK"]
    assert compare(en, ko) == []


def test_github_anchors():
    assert github_anchor("Backup and restore") == "backup-and-restore"
    assert github_anchor("백업과 복원") == "백업과-복원"
    assert github_anchor("`airflow_user` 롤 (role)") == "airflow_user-롤-role"
    assert broken_links(parse("# A b\n\n[x](#a-b) [y](#nope)\n", "t.md"), ROOT) == [
        "t.md line 3: link to #nope: no such heading"
    ]
