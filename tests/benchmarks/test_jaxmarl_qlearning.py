"""The JaxMARL Q-learning peer (`benchmarks/jaxmarl_qlearning.py`): their config, their counts.

Needs a JaxMARL source: $MARLAX_JAXMARL_SRC, or the bare mirror at `DEFAULT_MIRROR`, from
which the needed files are extracted into a temporary directory.
"""

from __future__ import annotations

import math
import os
import sys

import pytest

from marlax.errors import ConfigError
from tests.benchmarks.loader import load_benchmark

pytest.importorskip("jaxmarl")
pytest.importorskip("jaxmarl.wrappers.baselines")  # needs gymnax, which needs six
pytest.importorskip("flashbax")

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [pytest.mark.jaxmarl, pytest.mark.xdist_group("benchmarks.test_jaxmarl_qlearning")]

STEPS = 7000  # 33 MPE updates of 8 envs x 26 steps; their buffer can sample from update 32


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("jaxmarl_qlearning")


@pytest.fixture(scope="module")
def source(bench, tmp_path_factory):
    if os.environ.get(bench.SOURCE_ENV_VAR):
        return bench.resolve_source(None)
    if not bench.DEFAULT_MIRROR.is_dir():
        pytest.skip(f"no JaxMARL source: ${bench.SOURCE_ENV_VAR} unset, no {bench.DEFAULT_MIRROR}")
    return bench.materialise_source(bench.DEFAULT_MIRROR, tmp_path_factory.mktemp("jaxmarl"))


def test_config_is_their_yaml_with_only_the_budget_changed(bench, source):
    mpe = bench.load_config(source, "simple_spread", 5000)
    assert mpe["TOTAL_TIMESTEPS"] == 5000 and isinstance(mpe["TOTAL_TIMESTEPS"], int)
    assert (mpe["NUM_ENVS"], mpe["NUM_STEPS"], mpe["NUM_EPOCHS"]) == (8, 26, 1)
    assert (mpe["LR"], mpe["GAMMA"], mpe["TARGET_UPDATE_INTERVAL"]) == (0.005, 0.9, 200)
    assert mpe["WANDB_MODE"] == "disabled" and "REW_SCALE" not in mpe
    smax = bench.load_config(source, "smax_3m", 5000, {"LR": 1e-4}, record_curve=True)
    assert (smax["MAP_NAME"], smax["ENV_NAME"]) == ("3m", "HeuristicEnemySMAX")
    assert (smax["NUM_ENVS"], smax["NUM_STEPS"], smax["NUM_EPOCHS"]) == (16, 128, 8)
    assert (smax["LR"], smax["REW_SCALE"], smax["HIDDEN_SIZE"]) == (1e-4, 10.0, 512)
    assert smax["WANDB_MODE"] == bench.RECORDER_MODE


def test_yaml_exponent_literals_are_read_as_floats(bench, source):
    alg_yaml = source / bench.QLEARNING_DIR / "config" / "alg" / "ql_rnn_mpe.yaml"
    assert "1e7" in alg_yaml.read_text()  # PyYAML alone would return the string "1e7"
    assert bench._read_yaml(alg_yaml)["TOTAL_TIMESTEPS"] == 1e7


def test_bad_inputs_raise_config_errors(bench, source, tmp_path):
    with pytest.raises(ConfigError, match="overrides"):
        bench.load_config(source, "simple_spread", 5000, {"LEARNING_RATE": 0.1})
    with pytest.raises(ConfigError, match="NUM_SEEDS"):
        bench.load_config(source, "simple_spread", 5000, {"NUM_SEEDS": 2})
    with pytest.raises(ConfigError, match="env"):
        bench.load_config(source, "simple_tag", 5000)
    with pytest.raises(ConfigError, match="jaxmarl_src"):
        bench.resolve_source(tmp_path)
    with pytest.raises(ConfigError, match="total_env_steps"):  # fewer than 20 updates
        bench.prepare_run("vdn", "simple_spread", 19 * 208, jaxmarl_src=source)


def test_loading_their_script_leaves_no_stub_behind(bench, source):
    before = {name: sys.modules.get(name) for name in ("wandb", "hydra", "omegaconf")}
    module = bench.load_baseline(source, "qmix")
    assert {name: sys.modules.get(name) for name in before} == before
    assert module.wandb.log.__self__ is bench._recorded_metrics  # their log goes to the recorder


@pytest.mark.slow
@pytest.mark.parametrize("alg", ["qmix", "vdn", "iql"])
def test_tiny_run_counts_whole_updates_and_reports_finite_numbers(bench, source, alg):
    overrides = {"LEARNING_STARTS": 0, "TEST_NUM_ENVS": 16}
    result = bench.run_jaxmarl(alg, "simple_spread", STEPS, 0, overrides, source, True)
    steps_per_update = 8 * 26
    assert result["num_updates"] == STEPS // steps_per_update == 33
    assert result["env_steps"] == 33 * steps_per_update  # their own timestep counter
    # learning needs BUFFER_BATCH_SIZE (32) chunks per buffer row: updates 32 and 33, 1 epoch
    assert result["grad_steps"] == 2
    for name in ("seconds", "env_steps_per_s", "compile_seconds", "final_loss", "final_return"):
        assert math.isfinite(result[name]), name
    assert result["final_loss"] > 0.0
    # int(33 x 0.05) = 1: a test after every update, one point per update
    assert [step for step, _ in result["returns"]] == [k * steps_per_update for k in range(1, 34)]
    assert all(math.isfinite(value) and value < 0.0 for _, value in result["returns"])
    # the recorded curve ends on the runner state's last test
    assert result["returns"][-1][1] == pytest.approx(result["final_return"], rel=1e-6)
    assert result["final_win_rate"] is None and result["win_rates"] == []
    assert result["config"]["LR"] == 0.005 and result["config"]["NUM_UPDATES"] == 33
