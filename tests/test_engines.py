"""The engines behind one protocol: the registry is what the recipe, the schema and the docs
name; every engine is the protocol's, built by keywords, without the loop; the loop loads
no native code until a native fit; the fast engine's private fused Adam call is the public
optimiser's arithmetic, bit for bit."""

import inspect
import re
import subprocess
import sys

import pytest
import torch
import yaml
from interp5d.recipes import ENGINES, Recipe
from interp5d.training.engines import REGISTRY, engine_class
from interp5d.training.engines.base import AdamSettings, Engine

from .conftest import REPO


def test_the_recipe_the_schema_and_the_docs_name_the_registry_s_engines():
    assert tuple(REGISTRY) == ENGINES
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    entry = schema["$defs"]["recipe"]["properties"]["engine"]
    assert entry["enum"] == list(REGISTRY)
    assert entry["default"] == Recipe().engine
    described = re.findall(r"(?:^|; )(\w+): ", entry["description"])
    assert described == list(REGISTRY)  # each engine described, in the registry's order
    row = next(
        line
        for line in (REPO / "config/README.md").read_text().splitlines()
        if line.startswith("| `engine` |")
    )
    choices = row.split("|")[3]
    assert re.findall(r"`(\w+)` \(", choices) == list(REGISTRY)


def test_an_unknown_engine_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown engine 'jax'; known: fast, native, autograd"):
        engine_class("jax")
    with pytest.raises(ValueError, match="engine: must be one of"):
        Recipe(engine="jax")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_engine_is_the_protocol_s_built_by_keywords(name):
    cls = engine_class(name)
    assert issubclass(cls, Engine) and cls.name == name
    assert not inspect.isabstract(cls)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert params and all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params), (
        f"{name}: positional constructor arguments"
    )


def test_the_loop_reaches_the_engines_through_the_protocol_alone():
    # every method the loop calls on an engine is one the protocol declares
    from interp5d.training import loop

    source = inspect.getsource(loop)
    called = set(re.findall(r"\bengine\.(\w+)\(", source))
    declared = {n for n, _ in inspect.getmembers(Engine, callable) if not n.startswith("_")}
    assert called and called <= declared, called - declared


def test_importing_the_loop_loads_no_native_code():
    probe = (
        "import sys, interp5d.training.loop, interp5d.recipes\n"
        "print([m for m in sys.modules if m.startswith('interp5d') and 'native' in m])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_recipes_and_the_engine_names_need_no_torch():
    # the Snakefile reads them when it parses the workflow
    probe = "import sys, interp5d.recipes, interp5d.training.limits\nprint('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_adam_s_settings_are_the_recipe_s():
    s = AdamSettings.of(Recipe(beta2=0.99, weight_decay=1e-3, weight_decay_n=0.3), 600)
    assert (s.beta1, s.beta2, s.eps) == (0.9, 0.99, 1e-8)
    assert s.weight_decay == 1e-3 + 0.3 / 600


@pytest.mark.parametrize("public", ["optimizer", "functional"])
def test_the_private_fused_adam_call_is_the_public_fused_adam_bit_for_bit(public):
    # why the private call stays is its speed (FusedAdam's comment): this is what it keeps
    from interp5d.training.engines.fast import FusedAdam
    from torch.optim.adam import Adam, adam

    recipe = Recipe(beta2=0.99, weight_decay=1e-3, weight_decay_n=0.3)
    s = AdamSettings.of(recipe, 700)
    g = torch.Generator().manual_seed(0)
    start = torch.randn(500, generator=g)
    ours, ours_grad = start.clone(), torch.zeros(500)
    theirs, theirs_grad = start.clone(), torch.zeros(500)
    opt = FusedAdam(ours, ours_grad, recipe, 700)
    if public == "optimizer":
        theirs.grad = theirs_grad
        torch_opt = Adam(
            [theirs], betas=(s.beta1, s.beta2), eps=s.eps, weight_decay=s.weight_decay, fused=True
        )
    else:
        m, v, t = torch.zeros(500), torch.zeros(500), torch.zeros(())
    for i in range(50):
        grad = torch.randn(500, generator=g)
        ours_grad.copy_(grad)
        theirs_grad.copy_(grad)
        lr = 0.1 / (i + 1)
        opt.step(lr)
        if public == "optimizer":
            torch_opt.param_groups[0]["lr"] = lr
            torch_opt.step()
        else:
            adam(
                [theirs], [theirs_grad], [m], [v], [], [t],
                fused=True, amsgrad=False, has_complex=False, beta1=s.beta1, beta2=s.beta2,
                lr=lr, weight_decay=s.weight_decay, eps=s.eps, maximize=False,
                capturable=False, differentiable=False, decoupled_weight_decay=False,
            )  # fmt: skip
    assert torch.equal(ours, theirs)


def test_only_a_native_fit_or_the_roofline_s_products_reach_the_native_step():
    # by the registry's name, which the workflow's tracked code adds where a job loads it:
    # no import in the loop or the roofline makes every job that imports them track it
    from interp5d.pipeline.codegraph import closure

    files = closure([], ["interp5d.training.loop", "interp5d.bench.roofline"])
    assert [f.name for f in files if "native" in f.name] == []
