"""Parts of a page that apps contribute from a module of their own: the steward's home's panels
(``accounts.home``, modules ``home``), an asset page's sections (``catalog.admin_assets``, modules
``admin_assets``).

Imports point down, so a page drawn by a lower app cannot name what higher apps have to show. Each app registers
its parts with the page's :class:`Registry` in a module of the registry's name, which is read from every installed
app the first time the page is drawn (as ``accounts.roles`` reads ``roles``). A part's builder receives what the
page gives it (the request; for an asset page the asset too) and returns its template's context, or None when it
has nothing to show or the user may see none of it: builders read through their app's selectors, so each part shows
what the user's role allows and no more.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class Part:
    key: str  # the part's HTML id suffix, stable for links and tests
    title: str
    template: str
    order: int
    build: Callable[..., dict | None]


@dataclass(frozen=True)
class ShownPart:
    part: Part
    data: dict


class Registry:
    """The parts of one page, contributed by the apps' ``module`` modules; ``what`` names them in errors."""

    def __init__(self, module: str, what: str):
        self.module, self.what = module, what
        self._parts: dict[str, Part] = {}

    def register(self, *, key: str, title: str, template: str, order: int):
        """Register the decorated builder as a part; ``order`` places it (lower first: the apps that ship with
        Racine use tens, so later apps fit theirs between)."""

        def register(build: Callable[..., dict | None]):
            if key in self._parts and self._parts[key].build is not build:
                raise ValueError(f"two {self.what} named {key!r}")
            self._parts[key] = Part(key, title, template, order, build)
            return build

        return register

    @cached_property
    def _discovered(self) -> bool:
        autodiscover_modules(self.module)
        return True

    def registered(self) -> list[Part]:
        assert self._discovered
        return sorted(self._parts.values(), key=lambda part: (part.order, part.key))

    def shown(self, *args) -> list[ShownPart]:
        """The parts with something to show for ``args`` (what the page gives each builder), in order."""
        shown = []
        for part in self.registered():
            data = part.build(*args)
            if data is not None:
                shown.append(ShownPart(part, data))
        return shown
