"""The studio's panels, one per file. Each is a :class:`Panel`: ``build(parent)`` creates its widgets,
``on_model_changed()`` rebuilds what depends on the checkpoint (hairstyles, code sizes, subjects),
``on_head_changed()`` shows a head that was replaced from outside (subject picked, file loaded, fit
finished), ``update()`` runs once per UI frame and must stay cheap."""

from __future__ import annotations


class Panel:
    title = ""

    def __init__(self, studio) -> None:
        self.studio = studio

    def build(self, parent) -> None:
        raise NotImplementedError

    def on_model_changed(self) -> None:
        """A (new) checkpoint is loaded."""

    def on_head_changed(self) -> None:
        """The current head was replaced as a whole."""

    def update(self) -> None:
        """Once per UI frame."""
