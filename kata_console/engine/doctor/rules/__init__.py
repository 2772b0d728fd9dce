"""The rules, one module each: a module here that defines `RULE` is a rule (adding a rule is
adding a file). Loaded in name order, so findings come out the same way every run."""

from __future__ import annotations

import importlib
import pkgutil

from kata_console.engine.doctor.rule import Rule


def discover() -> list[Rule]:
    rules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if isinstance(rule, Rule):
            rules.append(rule)
    return rules
