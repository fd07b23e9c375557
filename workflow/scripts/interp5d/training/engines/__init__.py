"""The training engines by name: what a recipe's `engine` setting, the config schema and
config/README.md name (a test ties the three). Each is a class of the protocol in base.py;
adding one means its module and an entry here. Classes are imported on first use, so
reading the names needs no torch (the Snakefile's config check reads them) and the native
step's ctypes loader is loaded only by a native fit."""

from __future__ import annotations

from importlib import import_module

REGISTRY: dict[str, str] = {
    "fast": "interp5d.training.engines.fast:FastEngine",  # hand-written backward, fused Adam
    "native": "interp5d.training.engines.native:NativeEngine",  # the fast step, compiled C
    "autograd": "interp5d.training.engines.autograd:AutogradEngine",  # plain PyTorch
}


def engine_module(name: str) -> str:
    """The module that holds an engine's class (what the workflow tracks for a recipe)."""
    try:
        return REGISTRY[name].split(":")[0]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; known: {', '.join(REGISTRY)}") from None


def engine_class(name: str) -> type:
    """The engine class of a registered name (a subclass of base.Engine; not annotated as
    one, as importing base here would close an import cycle through recipes)."""
    return getattr(import_module(engine_module(name)), REGISTRY[name].split(":")[1])
