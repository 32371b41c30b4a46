"""Sphinx configuration for the learning-dynamics documentation site.

Build (from the repository root; ``pip install -e '.[docs]'`` first):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The pages are the Markdown files of ``docs/`` (MyST) and the API reference under
``docs/api/`` (autodoc over the Google-style docstrings, napoleon, MathJax).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

from sphinx.pycode import ModuleAnalyzer
from sphinx.pycode import PycodeError
from sphinx.util.nodes import make_refnode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # import theory/, sims/ from the checkout

project = "learning-dynamics"
author = "learning-dynamics contributors"
copyright = "the learning-dynamics contributors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# The navigation: appended to index.md as hidden toctrees when Sphinx reads it (see
# ``_add_toctree``), so that index.md stays a plain Markdown page on GitHub. A new
# page goes into one of these lists, else the build fails ("document isn't included
# in any toctree").
TOCTREE = {
    "Modules": [
        "rf_risk",
        "selu",
        "neural_collapse",
        "rf_real",
        "nce",
        "ifm",
        "figures",
    ],
    "Using the package": [
        "grid_format",
        "add_an_experiment",
        "performance",
        "reproduction",
        "reproduction_default",
    ],
    "Derivations": [
        "derivations/rf_ridge",
        "derivations/rf_powerlaw",
        "derivations/kernels",
        "derivations/selu_moments",
        "derivations/neural_collapse",
        "derivations/nce",
        "derivations/ifm",
    ],
    "API reference": ["api/index"],
}


# -- MyST (the Markdown pages) -------------------------------------------------------
# The pages write their math in Unicode and code blocks, no $...$: no dollarmath.
myst_heading_anchors = 3  # [text](page.md#a-heading) links resolve

# -- autodoc / napoleon --------------------------------------------------------------
# theory/kernels.py imports jax and neural-tangents only inside the functions that
# need them, so neither is needed (nor mocked) to build the docs.
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
# Show ``ArrayLike`` as written, not numpy's ten-line union behind it.
autodoc_type_aliases = {"ArrayLike": "numpy.typing.ArrayLike"}
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_param = True
napoleon_use_rtype = True
napoleon_use_ivar = False

# -- references ------------------------------------------------------------------------
# Every reference must resolve (-W turns a miss into an error), docstring roles
# included. Types from other libraries are not linked (no intersphinx: the build
# needs no network), so they are exempt.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(numpy|np|torch|xarray|xr|scipy|matplotlib|collections|pathlib|typing)"
        r"(\..*)?",
    ),
]
add_module_names = False  # each page is one module: show ``rf_ridge_risk(...)``

# -- HTML ----------------------------------------------------------------------------
html_theme = "furo"
html_title = "learning-dynamics"
html_static_path: list[str] = []


# -- hooks ----------------------------------------------------------------------------
def _add_toctree(app, docname: str, source: list[str]) -> None:
    if docname != root_doc:
        return
    blocks = []
    for caption, entries in TOCTREE.items():
        body = "\n".join(entries)
        blocks.append(
            f"\n```{{toctree}}\n:hidden:\n:maxdepth: 2\n:caption: {caption}\n\n"
            f"{body}\n```\n"
        )
    source[0] += "\n" + "".join(blocks)


def _skip_member(app, what, name, obj, skip, options):
    # A NamedTuple's fields are documented by the "Attributes:" section of its
    # docstring; autodoc would add each again ("Alias for field number 0"), twice
    # describing one object.
    if type(obj).__name__ == "_tuplegetter":
        return True
    return None


def _reexported_data_docs(app) -> None:
    # A public module re-exports constants from a private one (``from
    # theory._selu_gauss import ALPHA_01``, listed in its ``__all__``). autodoc reads
    # a constant's ``#:`` comment from the re-exporting module only, finds none and
    # leaves the constant out; hand it the comment of the module that assigns it.
    for package in ("theory", "sims"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            if info.name.startswith("_"):
                continue
            modname = f"{package}.{info.name}"
            module = importlib.import_module(modname)
            analyzer = ModuleAnalyzer.for_module(modname)
            analyzer.analyze()
            for name in getattr(module, "__all__", ()):
                obj = getattr(module, name, None)
                if ("", name) in analyzer.attr_docs or callable(obj):
                    continue
                doc = _defining_comment(name, obj)
                if doc:
                    analyzer.attr_docs["", name] = doc


def _defining_comment(name: str, obj) -> list[str] | None:
    # The ``#:`` comment above ``name = ...`` in the module of ours that assigns it.
    for modname, module in list(sys.modules.items()):
        if modname.split(".")[0] not in ("theory", "sims") or module is None:
            continue
        if getattr(module, name, _defining_comment) is not obj:
            continue
        try:
            analyzer = ModuleAnalyzer.for_module(modname)
            analyzer.analyze()
        except PycodeError:
            continue
        if ("", name) in analyzer.attr_docs:
            return list(analyzer.attr_docs["", name])
    return None


def _tidy_signature(app, what, name, obj, options, signature, return_annotation):
    # A dataclass field with a default_factory shows as ``= <factory>``, which the
    # signature parser cannot read: the whole signature would then be printed raw,
    # with ``~module.`` prefixes. ``...`` parses and says "a default". And an alias
    # inside a union (``ArrayLike | None``) comes out as
    # ``TypeAliasForwardRef('numpy.typing.ArrayLike')``: show the alias.
    if not signature:
        return None
    tidy = signature.replace("<factory>", "...")
    alias = r"TypeAliasForwardRef\('([^']*)'\)"
    tidy = re.sub(alias, r"\1", tidy)
    if return_annotation:
        return_annotation = re.sub(alias, r"\1", return_annotation)
    return tidy, return_annotation


def _resolve_by_suffix(app, env, node, contnode):
    # A docstring may name a module-level object documented on another page by its
    # bare name (``:class:`FixedPointError```, "Raises: FixedPointError: ..."). Link
    # it when exactly one documented module has an object of that name and kind;
    # otherwise it stays a miss (an error under -W).
    if node.get("refdomain") != "py" or node.get("refspecific"):
        return None
    domain = env.get_domain("py")
    target = node["reftarget"]
    if not target.isidentifier():
        return None
    matches = [
        (name, obj)
        for name, obj in domain.find_obj(
            env, node.get("py:module"), node.get("py:class"), target, node["reftype"], 1
        )
        if name.endswith("." + target)
        and obj.objtype in ("class", "exception", "function", "data")
        and name[: -len(target) - 1] in domain.modules
    ]
    if len(matches) != 1:
        return None
    name, obj = matches[0]
    return make_refnode(
        app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name
    )


def setup(app) -> None:
    app.connect("source-read", _add_toctree)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("builder-inited", _reexported_data_docs)
    app.connect("autodoc-process-signature", _tidy_signature)
    app.connect("missing-reference", _resolve_by_suffix)
