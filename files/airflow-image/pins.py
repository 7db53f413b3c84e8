"""The build's extra constraints: the lines of constraints.txt whose package
the base image does not already have (the base's versions always apply, as
its pip freeze is a constraint too). A pin of a package the base has is left
out, with a note on stderr, rather than failing the build on two versions of
one package.

    python pins.py installed.txt constraints.txt > pins.txt
"""

import re
import sys

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def package(line):
    """The package a requirement line names, or None (comments, blanks, options)."""
    text = line.split("#", 1)[0].strip()
    match = NAME.match(text) if text and not text.startswith("-") else None
    return canonical(match.group(1)) if match else None


def main(installed_path, constraints_path):
    with open(installed_path, encoding="utf-8") as handle:
        installed = {package(line): line.strip() for line in handle if package(line)}
    with open(constraints_path, encoding="utf-8") as handle:
        for line in handle:
            name = package(line)
            if name is None:
                continue
            if name in installed:
                print(f"constraints.txt: {line.strip()} left out, the base image has {installed[name]}",
                      file=sys.stderr)
            else:
                print(line.strip())


if __name__ == "__main__":
    main(*sys.argv[1:3])
