#!/usr/bin/env python3
"""Write the variables section of each role's README.md from its sources.

A role's variables are described once, in meta/argument_specs.yml (type,
description, choices), and given their defaults once, in defaults/main.yml.
This script renders both into a Markdown table between two marker lines of
roles/<role>/README.md:

    <!-- BEGIN GENERATED: variables (make docs) -->
    ...
    <!-- END GENERATED: variables -->

Everything outside the markers is left as it is. The default column shows
the value as written in defaults/main.yml (a Jinja expression stays an
expression); "required" for a required option, "—" when defaults/main.yml
has none. The `main` entry point gets the table; each other entry point
(tasks_from) gets its own sub-heading listing the options main lacks.

Descriptions may use Ansible's doc markup, which ansible-doc renders too:
C(code) becomes `code`, I(x) *x*, B(x) **x**, V(), O(), E(), M(), P(), RV()
code, U(url) <url>, L(text,url) [text](url). Plain text is escaped for
Markdown (<, >, *, |), so write C(airflow-<time>.dump), not backticks.

    tools/gen_role_docs.py            rewrite every README whose section is stale
    tools/gen_role_docs.py --check    change nothing; exit 1 naming each stale README

Only PyYAML is needed (.venv/bin/python; `make docs`).
"""

import argparse
import difflib
import re
import sys
from pathlib import Path

import yaml

BEGIN = "<!-- BEGIN GENERATED: variables (make docs) -->"
END = "<!-- END GENERATED: variables -->"
BEGIN_PREFIX = "<!-- BEGIN GENERATED: variables"
END_PREFIX = "<!-- END GENERATED: variables"
NOTE = ("<!-- Do not edit between these markers: descriptions and types live in meta/argument_specs.yml, "
        "defaults in defaults/main.yml; then run make docs. -->")

DEFAULT_ROLES_DIR = Path(__file__).resolve().parent.parent / "roles"


class DocsError(Exception):
    """A role whose README cannot be generated (missing file, markers, bad YAML)."""


# --- defaults/main.yml: each value as written ---------------------------------

def default_literals(path):
    """Map each top-level variable of a defaults file to its value as written.

    A value on one line is the source text itself (quotes included, trailing
    comment excluded). A value over several lines is shown on one line: a
    block list or mapping in YAML flow style, a block scalar (>-, |) with its
    whitespace collapsed.
    """
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise DocsError(f"{path}: not a mapping of variables")
    data = yaml.safe_load(text)
    literals = {}
    for key_node, value_node in root.value:
        name = key_node.value
        source = text[value_node.start_mark.index:value_node.end_mark.index].strip()
        if isinstance(value_node, yaml.ScalarNode) and value_node.style in (">", "|"):
            literals[name] = " ".join(str(data[name]).split())
        elif "\n" in source:
            literals[name] = flow_yaml(data[name])
        else:
            literals[name] = source
    return literals


def flow_yaml(value):
    """One-line YAML (flow style) for a value."""
    dumped = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 30,
                            allow_unicode=True).strip()
    if dumped.endswith("\n..."):
        dumped = dumped[: -len("\n...")]
    return dumped


# --- Markdown rendering ------------------------------------------------------

def code(text):
    """An inline code span for a table cell (pipes escaped, as GFM tables need)."""
    text = str(text)
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def escape_plain(text):
    """Plain prose for a table cell: nothing in it may turn into HTML or emphasis."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("*", "\\*").replace("|", "\\|"))


MARKUP = re.compile(r"\b(RV|[CIBVOEMPUL])\(([^)]*)\)")


def markdown(text):
    """Ansible doc markup and plain text to Markdown for one table cell."""
    text = " ".join(str(text).split())
    out = []
    pos = 0
    for m in MARKUP.finditer(text):
        out.append(plain_with_backticks(text[pos:m.start()]))
        kind, body = m.group(1), m.group(2)
        if kind == "I":
            out.append("*" + escape_plain(body) + "*")
        elif kind == "B":
            out.append("**" + escape_plain(body) + "**")
        elif kind == "U":
            out.append("<" + body + ">")
        elif kind == "L":
            label, _, url = body.rpartition(",")
            out.append(f"[{escape_plain(label.strip())}]({url.strip()})")
        else:
            out.append(code(body))
        pos = m.end()
    out.append(plain_with_backticks(text[pos:]))
    return "".join(out)


def plain_with_backticks(text):
    """Escape plain text, leaving `code spans` someone wrote in Markdown alone."""
    parts = re.split(r"(`[^`]+`)", text)
    return "".join(p.replace("|", "\\|") if i % 2 else escape_plain(p) for i, p in enumerate(parts))


def description_text(option):
    desc = option.get("description", "")
    if isinstance(desc, list):
        desc = " ".join(str(d) for d in desc)
    return str(desc)


def type_text(option):
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        return f"list of {option['elements']}"
    if kind == "dict" and option.get("elements"):
        return f"dict of {option['elements']}"
    return str(kind)


def default_text(name, option, literals):
    if option.get("required"):
        return "required"
    if name in literals:
        return code(literals[name])
    return "—"


def option_row(name, option, literals):
    desc = markdown(description_text(option))
    if option.get("choices"):
        choices = ", ".join(code(c) for c in option["choices"])
        desc = f"{desc} One of {choices}." if desc else f"One of {choices}."
    return f"| {code(name)} | {type_text(option)} | {default_text(name, option, literals)} | {desc} |"


def options_table(options, literals):
    lines = ["| variable | type | default | description |", "|---|---|---|---|"]
    lines += [option_row(name, opt or {}, literals) for name, opt in options.items()]
    return lines


def render_section(specs, literals):
    """The Markdown between the markers, for one role."""
    lines = [NOTE, ""]
    lines.append("Types and descriptions from `meta/argument_specs.yml`; defaults as written in `defaults/main.yml`.")
    lines.append("")
    main = specs.get("main") or {}
    main_options = main.get("options") or {}
    others = [ep for ep in specs if ep != "main"]
    if others:
        lines += ["### Entry point `main`", ""]
        if main.get("short_description"):
            lines += [markdown(main["short_description"]), ""]
    if main_options:
        lines += options_table(main_options, literals)
    elif not others:
        lines.append("This role has no variables.")
    for ep in others:
        spec = specs[ep] or {}
        options = spec.get("options") or {}
        own = {n: o for n, o in options.items() if main_options.get(n) != o}
        shared = [n for n in options if n not in own]
        lines += ["", f"### Entry point `{ep}` (`tasks_from: {ep}`)", ""]
        if spec.get("short_description"):
            lines += [markdown(spec["short_description"]), ""]
        if own:
            lines += options_table(own, literals)
        if shared:
            if own:
                lines.append("")
            if len(shared) == len(main_options):
                lines.append("It also reads every variable of `main`, described above.")
            else:
                names = ", ".join(code(n) for n in shared)
                lines.append(f"It also reads these variables of `main`, described above: {names}.")
        if not options:
            lines.append("It takes no variables.")
    return "\n".join(lines).rstrip() + "\n"


# --- README splicing ---------------------------------------------------------

def splice(readme_text, section, readme_path):
    """The README with the text between its markers replaced by section."""
    lines = readme_text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN_PREFIX)]
    ends = [i for i, line in enumerate(lines) if line.startswith(END_PREFIX)]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise DocsError(
            f"{readme_path}: needs exactly one line '{BEGIN}' and, after it, one line '{END}' "
            "where the variables section goes")
    head = "".join(lines[:begins[0]])
    tail = "".join(lines[ends[0] + 1:])
    return f"{head}{BEGIN}\n{section}\n{END}\n{tail}"


def load_yaml(path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DocsError(f"{path}: {exc}") from exc


def role_readme(role_dir):
    """(README path, current text, generated text) for one role."""
    spec_path = role_dir / "meta" / "argument_specs.yml"
    readme_path = role_dir / "README.md"
    if not spec_path.is_file():
        raise DocsError(f"{spec_path}: missing; every role describes its variables there")
    if not readme_path.is_file():
        raise DocsError(f"{readme_path}: missing")
    data = load_yaml(spec_path) or {}
    specs = data.get("argument_specs") if isinstance(data, dict) else None
    if not isinstance(specs, dict):
        raise DocsError(f"{spec_path}: no argument_specs mapping")
    try:
        literals = default_literals(role_dir / "defaults" / "main.yml")
    except yaml.YAMLError as exc:
        raise DocsError(f"{role_dir / 'defaults' / 'main.yml'}: {exc}") from exc
    current = readme_path.read_text(encoding="utf-8")
    return readme_path, current, splice(current, render_section(specs, literals), readme_path)


def shown(path):
    """A path as the user would type it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def role_dirs(roles_dir):
    return sorted(p for p in roles_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and name each README that differs from its sources")
    parser.add_argument("--roles-dir", type=Path, default=DEFAULT_ROLES_DIR,
                        help="directory holding the roles (default: the repository's roles/)")
    args = parser.parse_args(argv)

    if not args.roles_dir.is_dir():
        print(f"{args.roles_dir}: not a directory", file=sys.stderr)
        return 2
    failed = False
    for role_dir in role_dirs(args.roles_dir):
        try:
            readme_path, current, generated = role_readme(role_dir)
        except DocsError as exc:
            print(f"ERROR {exc}", file=sys.stderr)
            failed = True
            continue
        if current == generated:
            continue
        if args.check:
            print(f"{shown(readme_path)} differs from {role_dir.name}'s meta/argument_specs.yml and "
                  "defaults/main.yml: run make docs")
            diff = difflib.unified_diff(current.splitlines(), generated.splitlines(),
                                        f"{shown(readme_path)} (now)", f"{shown(readme_path)} (generated)", lineterm="")
            for i, line in enumerate(diff):
                if i == 60:
                    print("    ...")
                    break
                print("    " + line)
            failed = True
        else:
            readme_path.write_text(generated, encoding="utf-8")
            print(f"wrote {shown(readme_path)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
