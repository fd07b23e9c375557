"""Loop ablation: what each piece of interp5d's training loop buys, measured side by side.

One recipe, the same data (synthetic5d, the 70% training split of n rows), one torch thread:

1. dataloader: a tutorial PyTorch loop: DataLoader(TensorDataset, shuffle=True), the
   nn.Module's forward, loss.backward(), torch.optim.Adam with the recipe's per-step
   learning rate and weight decay, a per-step loss.item(), validation as the recipe says
   (of AveragedModel's moving average of the weights when the recipe has one).
2. autograd: interp5d's loop with `engine: autograd`: the same forward, backward and Adam,
   but batches gathered from in-memory tensors into one buffer and one host sync per epoch.
3. fast: `engine: fast`, the default: a hand-written backward pass into buffers made once
   and one fused Adam kernel per step.
4. native: `engine: native`, the tuned recipe's: the fast engine's step (and its batch
   gather) and validation, each as one compiled C call on the same buffers.

Repeats are interleaved (1, 2, 3, 4, 1, 2, ...) so drift hits all alike; the table gives the
median loop seconds and each step's speed-up over the one before. Nothing else should run
meanwhile.

    .venv/bin/python benchmarks/ablation.py [--n 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

import torch
from interp5d import MLPInterpolator, get_function, get_recipe, split_indices
from interp5d.bench.provenance import cpu_model
from interp5d.metrics import r2_score
from interp5d.model import build_mlp
from interp5d.recipes import Recipe
from interp5d.training.loop import LoopPlan, LRSchedule
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset


def dataloader_loop(Xt, yt, Xv, yv, recipe: Recipe, seed: int):
    """The recipe in a tutorial loop; returns the model and the loop's seconds."""
    torch.manual_seed(seed)
    plan = LoopPlan.of(len(Xt), recipe)
    loader = DataLoader(
        TensorDataset(Xt, yt),
        batch_size=plan.batch,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    model = build_mlp(5, recipe.hidden, recipe.activation, recipe.init_scale)
    opt = torch.optim.Adam(
        model.parameters(),
        lr=recipe.lr,
        betas=(0.9, recipe.beta2),
        weight_decay=recipe.weight_decay + recipe.weight_decay_n / len(Xt),
    )
    lr_at = LRSchedule(recipe, plan.steps, plan.total_steps)
    avg = (
        AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(recipe.ema_decay))
        if recipe.ema_decay
        else None
    )
    evaluated = model if avg is None else avg.module  # validated, kept and returned
    loss_fn = torch.nn.MSELoss()
    best, best_val, step = None, math.inf, 0
    t0 = time.perf_counter()
    for epoch in range(1, plan.epochs + 1):
        running = 0.0
        for xb, yb in loader:
            if step == plan.total_steps:  # a step budget can end inside an epoch
                break
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            if avg is not None:
                avg.update_parameters(model)
            running += loss.item() * len(xb)
            step += 1
        if epoch % recipe.val_every == 0 or epoch == plan.epochs:
            with torch.no_grad():
                val = loss_fn(evaluated(Xv), yv).item()
            if val < best_val:
                best_val = val
                best = {k: v.clone() for k, v in evaluated.state_dict().items()}
    if recipe.restore_best and best is not None:
        evaluated.load_state_dict(best)
    return evaluated, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--recipes", nargs="+", default=["tuned", "seed"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    X, y, _ = get_function("synthetic5d").sample(args.n, 42)
    tr, va, te = split_indices(args.n, seed=42)
    mx, sx, my, sy = X[tr].mean(0), X[tr].std(0), y[tr].mean(), y[tr].std()

    def tensors(idx):
        xt = torch.as_tensor((X[idx] - mx) / sx, dtype=torch.float32)
        return xt, torch.as_tensor((y[idx] - my) / sy, dtype=torch.float32).reshape(-1, 1)

    (Xt, yt), (Xv, yv), (Xe, _) = tensors(tr), tensors(va), tensors(te)
    print(
        f"# Loop ablation: synthetic5d, n = {args.n:,} ({len(tr):,} training rows), "
        f"1 torch thread, {args.repeats} interleaved repeats; CPU: {cpu_model()}; "
        f"torch {torch.__version__}\n"
    )
    print("| recipe | loop | median loop s | s per epoch | speed-up over the step before | R² |")
    print("|---|---|---|---|---|---|")
    t_start = time.perf_counter()
    for name in args.recipes:
        recipe = get_recipe(name)
        plan = LoopPlan.of(len(tr), recipe)
        times: dict[str, list[float]] = {"dataloader": [], "autograd": [], "fast": [], "native": []}
        r2: dict[str, float] = {}
        for _ in range(args.repeats):
            model, secs = dataloader_loop(Xt, yt, Xv, yv, recipe, 0)
            times["dataloader"].append(secs)
            with torch.no_grad():
                pred = model(Xe).squeeze(1).double().numpy() * sy + my
            r2["dataloader"] = r2_score(y[te], pred)
            for engine in ("autograd", "fast", "native"):
                est = MLPInterpolator(replace(recipe, engine=engine), seed=0, threads=1)
                est.fit(X[tr], y[tr], X[va], y[va])
                times[engine].append(est.result_.loop_time_s)
                r2[engine] = est.score(X[te], y[te])
        med = {k: statistics.median(v) for k, v in times.items()}
        before = None
        for loop, secs in med.items():
            gain = f"{before / secs:.2f}×" if before else "—"
            print(
                f"| {name} (batch {recipe.batch_size or 'full'}, {plan.epochs} epochs) | {loop} | "
                f"{secs:.3f} | {secs / plan.epochs:.5f} | {gain} | {r2[loop]:.4f} |",
                flush=True,
            )
            before = secs
        print(
            f"| {name} | dataloader → native | | | {med['dataloader'] / med['native']:.2f}× in all "
            "| |"
        )
    print(f"\n(benchmark wall time {time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
