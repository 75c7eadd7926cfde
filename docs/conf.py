"""Sphinx configuration of the asymexp documentation site (``make docs``; why Sphinx: docs/index.md).

Pages are MyST Markdown; the tutorials in docs/tutorials/ are MyST-NB text notebooks, executed at every build
(a failing cell fails the build); the API reference in docs/api/ is generated from the docstrings by autodoc,
with napoleon reading their Google-style sections. The build runs with ``-W``: a warning is an error.
"""
import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))   # the checkout's package, also when it is not installed

import asymexp  # noqa: E402

project = "asymexp"
author = "asymexp contributors"
release = version = asymexp.__version__

extensions = [
    "myst_nb",                    # MyST Markdown pages and executed MyST notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",        # Google-style "Args:", "Returns:", "Attributes:" sections
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints", "runs"]  # runs/: quoted summaries
root_doc = "index"

# MyST: $...$ maths, ::: fences, "{term}" definitions; headings get anchors so [text](page.md#section) resolves.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Tutorials run at every build, in a fresh kernel; an exception in any cell fails the build. The first cell of
# a cold Numba cache compiles kernels (minutes), hence the generous per-cell timeout.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 1800
nb_merge_streams = True
nb_render_markdown_format = "myst"   # Markdown outputs (tables) are read as MyST, like the pages

# API reference: members in source order, type hints in the description (not the signature), no private names.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
napoleon_use_rtype = False   # "Returns: (A (P, P), S (P, P), error): ..." is prose, not a type to cross-reference

html_theme = "alabaster"
html_title = f"asymexp {release}"
html_theme_options = {"description": "width asymptotics of 1/N^gamma-normalized networks", "page_width": "1100px",
                      "sidebar_collapse": True}
html_static_path = []


# Links from a page to a repository file outside docs/ (the README, derivations/) work on a code host as they are;
# in the site they become a link to the page that includes that file, or else a download of the file. A link to
# a missing file is left alone, so MyST reports it and -W fails the build.
_DOCS = os.path.dirname(os.path.abspath(__file__))
_INCLUDED = {os.path.join(os.path.dirname(_DOCS), "README.md"): "/readme.md"}   # file -> the page including it
_OUTSIDE_LINK = re.compile(r"\]\((\.\./[^)#\s]+)\)")


def _link_outside_files(app, docname, source):
    folder = os.path.dirname(os.path.join(_DOCS, docname))

    def target(match):
        path = os.path.normpath(os.path.join(folder, match.group(1)))
        if path.startswith(_DOCS + os.sep) or not os.path.isfile(path):
            return match.group(0)
        if path in _INCLUDED:
            return f"](project:{_INCLUDED[path]})"
        return f"](path:{match.group(1)})"

    source[0] = _OUTSIDE_LINK.sub(target, source[0])


# Docstrings write formulas in plain text (docs/theory/index.md, "Conventions"), where |x| is an absolute value,
# not a reStructuredText substitution: outside inline literals and tables, "|" is escaped before parsing.
_LITERAL = re.compile(r"(``.*?``)")


def _plain_bars(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if "|" in line and not line.lstrip().startswith(("|", "+")):
            lines[i] = "".join(part if part.startswith("``") else part.replace("|", "\\|")
                               for part in _LITERAL.split(line))


# The module docstrings of three Numba kernel modules show formulas and tables as indented plain text after a
# colon, which reStructuredText reads as definition lists and block quotes. Their source is not edited for this:
# asymexp.jit keys the compiled-kernel cache on the kernel modules' source text, so any edit recompiles every
# kernel. Here an indented block after a line ending in ":" is shown as a literal block instead.
_PLAIN_TEXT_KERNEL_MODULES = {"asymexp.mnist.epoch_kernel", "asymexp.nn.dense", "asymexp.nn.generic_kernel"}


def _indent(line):
    return len(line) - len(line.lstrip())


def _literal_blocks(app, what, name, obj, options, lines):
    if what != "module" or name not in _PLAIN_TEXT_KERNEL_MODULES:
        return
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        following = next((x for x in lines[i + 1:] if x.strip()), "")
        if line.rstrip().endswith(":") and not line.rstrip().endswith("::") and _indent(following) > _indent(line):
            out += [line.rstrip() + ":", ""]
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > _indent(line)):
                out.append(lines[i])
                i += 1
            out.append("")
            continue
        out.append(line)
        i += 1
    lines[:] = out


def setup(app):
    app.connect("source-read", _link_outside_files)
    app.connect("autodoc-process-docstring", _literal_blocks)
    app.connect("autodoc-process-docstring", _plain_bars)
