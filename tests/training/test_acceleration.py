"""The jit / precision / determinism rules of `tfunsup.training`, on fake
device lists and CPU flags (no GPU on the test machine)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.training import (
    cpu_flags,
    cpu_supports_bfloat16,
    onednn_isa_cap,
    op_determinism,
    op_determinism_enabled,
    resolve_jit_compile,
    resolve_mixed_precision,
)
from tfunsup.utils.reproducibility import set_seed

CPU = [tf.config.PhysicalDevice("/physical_device:CPU:0", "CPU")]
GPU = CPU + [tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")]
TPU = CPU + ["TPU"]
AVX2 = frozenset({"avx", "avx2", "fma"})
ZEN4 = AVX2 | {"avx512f", "avx512_bf16"}
SAPPHIRE_RAPIDS = ZEN4 | {"amx_tile", "amx_bf16", "amx_int8"}


class _Replicas:
    def __init__(self, n):
        self.num_replicas_in_sync = n


def test_auto_is_xla_on_a_gpu_for_every_flow():
    for cpu_xla in (False, True):
        assert resolve_jit_compile("auto", devices=GPU, cpu_xla=cpu_xla) is True
    assert resolve_jit_compile("auto", devices=TPU) is True


def test_auto_on_a_gpu_without_xla_when_deterministic_or_distributed():
    assert resolve_jit_compile("auto", devices=GPU, deterministic=True) is False
    # Keras' own rule: no XLA for "auto" under a multi-replica strategy.
    assert resolve_jit_compile("auto", _Replicas(2), devices=GPU) is False
    assert resolve_jit_compile(True, _Replicas(2), devices=GPU) is True


def test_auto_on_a_cpu_follows_the_flow_rule():
    assert resolve_jit_compile("auto", devices=CPU) is False
    assert resolve_jit_compile("auto", devices=CPU, cpu_xla=True) is True


def test_gan_compile_resolves_auto_by_the_device_rule():
    from tfunsup.gan import GAN, build_discriminator, build_generator

    gan = GAN(build_generator((8, 8, 1), 4, 4), build_discriminator((8, 8, 1), 4), seed=0)
    gan.compile(jit_compile="auto")
    assert gan.jit_compile is resolve_jit_compile("auto")  # False on this CPU-only machine


def test_explicit_values_and_cpu_replicas():
    assert resolve_jit_compile(True, devices=CPU) is True
    assert resolve_jit_compile(False, devices=GPU) is False
    with pytest.warns(UserWarning, match="multi-replica"):
        assert resolve_jit_compile(True, _Replicas(2), devices=CPU) is False
    with pytest.warns(UserWarning, match="deterministic"):
        assert resolve_jit_compile(True, devices=CPU, deterministic=True) is False
    with pytest.raises(ValueError, match="jit_compile='yes'"):
        resolve_jit_compile("yes", devices=CPU)


def test_mixed_precision_auto_per_device():
    assert resolve_mixed_precision("auto", devices=GPU, gpu_float16=True) == "mixed_float16"
    assert resolve_mixed_precision("auto", devices=GPU) is None
    assert resolve_mixed_precision("auto", devices=TPU) == "mixed_bfloat16"
    for flags in (AVX2, ZEN4, SAPPHIRE_RAPIDS):  # never bf16 by default on a CPU
        assert resolve_mixed_precision("auto", devices=CPU, gpu_float16=True,
                                       flags=flags) is None
    assert resolve_mixed_precision(None, devices=GPU) is None
    assert resolve_mixed_precision("float32", devices=GPU) is None
    assert resolve_mixed_precision("float16", devices=GPU) == "mixed_float16"
    with pytest.raises(ValueError, match="mixed_precision='half'"):
        resolve_mixed_precision("half", devices=CPU)


def test_no_bfloat16_on_a_cpu_without_bfloat16_instructions():
    assert not cpu_supports_bfloat16(AVX2)
    assert cpu_supports_bfloat16(ZEN4) and cpu_supports_bfloat16(SAPPHIRE_RAPIDS)
    with pytest.warns(UserWarning, match="without bfloat16 instructions"):
        assert resolve_mixed_precision("bfloat16", devices=CPU, flags=AVX2) is None
    assert resolve_mixed_precision("bfloat16", devices=CPU, flags=ZEN4) == "mixed_bfloat16"
    assert resolve_mixed_precision("bfloat16", devices=GPU, flags=AVX2) == "mixed_bfloat16"


def test_a_onednn_isa_cap_below_bfloat16_counts_as_none(monkeypatch):
    assert onednn_isa_cap({}) is None
    assert onednn_isa_cap({"DNNL_MAX_CPU_ISA": "avx2"}) == "AVX2"
    assert onednn_isa_cap({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16",
                           "DNNL_MAX_CPU_ISA": "AVX2"}) == "AVX512_CORE_BF16"
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not cpu_supports_bfloat16()
    with pytest.warns(UserWarning, match="without bfloat16 instructions"):
        assert resolve_mixed_precision("bfloat16", devices=CPU) is None
    # Flags given (fake CPUs) are taken as they are.
    assert cpu_supports_bfloat16(ZEN4)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert cpu_supports_bfloat16() == cpu_supports_bfloat16(cpu_flags())


def test_a_seed_leaves_op_determinism_off():
    assert not op_determinism_enabled()
    set_seed(0)
    assert not op_determinism_enabled()
    # So Keras' own "auto" keeps XLA available (it refuses XLA under determinism).
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    from keras.src.trainers.trainer import model_supports_jit

    assert model_supports_jit(model)


def test_op_determinism_is_restored_on_exit():
    assert not op_determinism_enabled()
    with op_determinism(True) as enabled:
        assert enabled and op_determinism_enabled()
    assert not op_determinism_enabled()
    with pytest.raises(RuntimeError):
        with op_determinism(True):
            raise RuntimeError("boom")
    assert not op_determinism_enabled()
    with op_determinism(False) as enabled:
        assert not enabled
    # A caller's own setting is kept.
    tf.config.experimental.enable_op_determinism()
    try:
        with op_determinism(False):
            assert op_determinism_enabled()
        with op_determinism(True):
            pass
        assert op_determinism_enabled()
    finally:
        from tensorflow.python.framework import config

        config.disable_op_determinism()


def test_estimator_restores_determinism_after_a_deterministic_fit():
    from tfunsup.autoencoders import AutoencoderEstimator

    images = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    AutoencoderEstimator("dense", 2, hidden_units=(8,), epochs=1, batch_size=8, seed=0,
                         deterministic=True).fit(images)
    assert not op_determinism_enabled()
