"""profiles/slurm without a cluster: what a user edits is a placeholder, and the profile
agrees with the workflow. Runs with `make test`; the Slurm run itself is test_slurm.py."""

import re

import yaml

from ..conftest import REPO, snakemake

PROFILE = REPO / "profiles/slurm/config.yaml"


def load():
    return yaml.safe_load(PROFILE.read_text())


def test_site_settings_are_left_to_the_user():
    p = load()
    assert p["executor"] == "slurm"
    # the partition is a placeholder to replace; the account is not set at all
    assert p["default-resources"]["slurm_partition"] == "<your-partition>"
    assert "# slurm_account:" in PROFILE.read_text()
    for res in [p["default-resources"], *p["set-resources"].values()]:
        assert "slurm_account" not in res
    # nothing tuned for the test cluster: the plugin picks its status command itself
    assert not {k for k in p if k.startswith("slurm-")}


def test_training_cpus_match_torch_threads():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert load()["set-threads"]["train_profile"] == config["threads"]


def test_heavy_rules_have_memory_and_time():
    p = load()
    for rule in ("generate_dataset", "train_profile"):
        assert p["set-resources"][rule]["mem_mb"] > 0 and p["set-resources"][rule]["runtime"] > 0
    assert p["set-resources"]["train_profile"]["mem_mb"] >= 1000  # torch alone is ~0.5 GB


def test_timed_is_not_capped_on_the_cluster():
    # profiles/default caps `timed` at 1 for clean local timings; on Slurm each job has
    # its own CPUs, and --workflow-profile profiles/slurm replaces profiles/default.
    assert "resources" not in load()
    assert "--workflow-profile profiles/slurm" in PROFILE.read_text()


def test_profile_names_existing_rules():
    res = snakemake(REPO, "--list-rules", "--directory", str(REPO))
    rules = set(re.findall(r"^(\w+)$", res.stdout, re.MULTILINE))
    p = load()
    assert set(p["set-resources"]) | set(p["set-threads"]) <= rules
