"""One place that decides how a training step runs: XLA (`jit_compile`),
mixed precision and TensorFlow op determinism, from the devices present.

The rules, per process and per flow (the flows pass their own CPU rule):

* `jit_compile="auto"`: XLA on a GPU/TPU with a single replica (as Keras
  decides). On a CPU-only machine, XLA only for a flow whose train step
  measured faster with it on CPUs (it passes `cpu_xla=True`). None does
  today: on an AMD EPYC (AVX-512, no AMX) XLA measured 0.3x for the GAN step
  (`benchmarks/bench_gan.py`) and slower for the conv autoencoder
  (`benchmarks/bench_autoencoder_xla.py`), as it did on Intel CPUs with AMX.
  Never under a multi-replica strategy over CPU devices (TensorFlow fails
  there), nor with op determinism on (Keras refuses XLA then).
* `mixed_precision="auto"`: `mixed_float16` on a GPU when the flow allows it
  (`gpu_float16=True`), `mixed_bfloat16` on a TPU, float32 on CPUs. An
  explicit `"bfloat16"` on a CPU without bfloat16 instructions (`avx512_bf16`
  or `amx_bf16` in `/proc/cpuinfo`, or oneDNN capped below them by
  `ONEDNN_MAX_CPU_ISA`) falls back to float32 with a warning: TensorFlow
  then emulates bfloat16 and trains several times slower.
* `deterministic=True`: op determinism is switched on for the duration of
  `op_determinism()` and restored on exit; a `seed` alone never switches it
  on (`tfunsup.utils.reproducibility.set_seed` only seeds the generators).
"""

import contextlib
import functools
import os
import warnings

import tensorflow as tf

JIT_VALUES = (True, False, "auto")
PRECISIONS = {None: None, "float32": None, "float16": "mixed_float16",
              "bfloat16": "mixed_bfloat16", "auto": "auto"}
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# Values of oneDNN's ISA cap (`ONEDNN_MAX_CPU_ISA`, older name
# `DNNL_MAX_CPU_ISA`) that exclude its bfloat16 kernels: under such a cap
# TensorFlow would emulate bfloat16 as on a CPU without it.
ISA_CAPS_WITHOUT_BF16 = frozenset({"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_MIC",
                                   "AVX512_MIC_4OPS", "AVX512_CORE", "AVX512_CORE_VNNI"})


@functools.lru_cache(maxsize=None)
def cpu_flags():
    """The instruction-set flags of the first CPU in `/proc/cpuinfo`.

    Returns:
        frozenset of lower-case flag names (empty where `/proc/cpuinfo` is
        missing, e.g. macOS or Windows: no bfloat16 or AMX is assumed).
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].lower().split())
    except OSError:
        pass
    return frozenset()


def _device_types(devices):
    if devices is None:
        devices = tf.config.list_physical_devices()
    types = set()
    for device in devices:
        kind = device if isinstance(device, str) else device.device_type
        types.add(kind.upper())
    return types


def has_accelerator(devices=None):
    """Whether `devices` (default: this process's physical devices) include a
    GPU or TPU. `devices`: `tf.config.PhysicalDevice`s or type strings."""
    return bool(_device_types(devices) & {"GPU", "TPU"})


def onednn_isa_cap(environ=None):
    """oneDNN's CPU ISA cap set in the environment, upper case, or None.

    Args:
        environ: mapping of environment variables (default `os.environ`).

    Returns:
        The value of `ONEDNN_MAX_CPU_ISA` (else `DNNL_MAX_CPU_ISA`), e.g.
        `"AVX2"`, or None when neither is set.
    """
    environ = os.environ if environ is None else environ
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        value = environ.get(name, "").strip().upper()
        if value:
            return value
    return None


def cpu_supports_bfloat16(flags=None):
    """Whether the CPU has bfloat16 instructions (AVX512_BF16 or AMX-BF16).

    Args:
        flags: CPU flags, for tests. Default: this machine's `cpu_flags()`,
            and then a oneDNN ISA cap below bfloat16 in the environment
            (`ONEDNN_MAX_CPU_ISA=AVX2`, as `.ci/avx2` sets it) counts as no
            bfloat16 instructions.

    Returns:
        bool.
    """
    if flags is None:
        if onednn_isa_cap() in ISA_CAPS_WITHOUT_BF16:
            return False
        flags = cpu_flags()
    return any(f in flags for f in BF16_CPU_FLAGS)


def op_determinism_enabled():
    """Whether TensorFlow op determinism is currently on."""
    from tensorflow.python.framework import config

    return bool(getattr(config, "is_op_determinism_enabled", lambda: False)())


def _set_op_determinism(enabled):
    from tensorflow.python.framework import config

    if enabled:
        tf.config.experimental.enable_op_determinism()
    elif op_determinism_enabled():
        # TensorFlow has no public switch back; the private one exists since 2.9.
        config.disable_op_determinism()


@contextlib.contextmanager
def op_determinism(enabled=True):
    """Turns TensorFlow op determinism on inside the block, then restores it.

    With `enabled=False` (or None) nothing changes: a caller's own setting
    stays as it was. Determinism makes CPU runs repeat bit for bit with a
    fixed seed, but Keras then refuses XLA.

    Args:
        enabled: bool.

    Yields:
        Whether op determinism is on inside the block.
    """
    previous = op_determinism_enabled()
    if enabled and not previous:
        _set_op_determinism(True)
    try:
        yield op_determinism_enabled()
    finally:
        if op_determinism_enabled() != previous:
            _set_op_determinism(previous)


def with_op_determinism(fit):
    """Decorates an estimator's `fit`: runs it under `op_determinism(
    self.deterministic)` (off when the estimator has no such attribute)."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        with op_determinism(bool(getattr(self, "deterministic", False))):
            return fit(self, *args, **kwargs)

    return wrapper


def resolve_jit_compile(jit_compile, strategy=None, *, cpu_xla=False, deterministic=False,
                        devices=None):
    """The `jit_compile` value (True or False) to pass to Keras `compile`.

    Args:
        jit_compile: True, False or `"auto"` (see the module docstring).
        strategy: the `tf.distribute.Strategy` the model is built under, or
            None for a single replica.
        cpu_xla: bool, the flow's CPU rule: True where its train step
            measured faster with XLA on CPUs.
        deterministic: bool, op determinism requested: no XLA.
        devices: physical devices (`tf.config.PhysicalDevice`s or type
            strings such as `"GPU"`); default this process's.

    Returns:
        bool.

    Raises:
        ValueError: `jit_compile` is not True, False or `"auto"`.
    """
    if not any(jit_compile is v or (isinstance(v, str) and jit_compile == v)
               for v in JIT_VALUES):
        raise ValueError(
            f"Expected jit_compile True, False or 'auto'. Received: jit_compile={jit_compile!r}")
    accelerator = has_accelerator(devices)
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    if replicas > 1 and not accelerator:
        if jit_compile is True:
            warnings.warn("jit_compile=True is not supported by a multi-replica strategy "
                          "(MirroredStrategy) over CPU devices; training without XLA.",
                          stacklevel=2)
        return False
    if deterministic:
        if jit_compile is True:
            warnings.warn("jit_compile=True with deterministic=True: Keras runs "
                          "deterministic ops without XLA; training without XLA.", stacklevel=2)
        return False
    if jit_compile != "auto":
        return bool(jit_compile)
    if accelerator:
        return replicas == 1
    return bool(cpu_xla)


def resolve_mixed_precision(mixed_precision, *, gpu_float16=False, devices=None, flags=None):
    """The Keras dtype policy name for `mixed_precision`, or None for float32.

    Args:
        mixed_precision: None or `"float32"` (float32), `"float16"`,
            `"bfloat16"` or `"auto"` (see the module docstring).
        gpu_float16: bool, whether `"auto"` picks `mixed_float16` on a GPU.
        devices: physical devices, as in `resolve_jit_compile`.
        flags: CPU flags (default `cpu_flags()`), for tests.

    Returns:
        None, `"mixed_float16"` or `"mixed_bfloat16"`.

    Raises:
        ValueError: an unknown `mixed_precision`.
    """
    if mixed_precision not in PRECISIONS:
        raise ValueError(f"Expected mixed_precision in {tuple(PRECISIONS)}. "
                         f"Received: mixed_precision={mixed_precision!r}")
    types = _device_types(devices)
    if mixed_precision == "auto":
        if "TPU" in types:
            return "mixed_bfloat16"
        if "GPU" in types and gpu_float16:
            return "mixed_float16"
        return None
    policy = PRECISIONS[mixed_precision]
    if (policy == "mixed_bfloat16" and not types & {"GPU", "TPU"}
            and not cpu_supports_bfloat16(flags)):
        warnings.warn("mixed_precision='bfloat16' on a CPU without bfloat16 instructions "
                      "(no avx512_bf16 / amx_bf16): TensorFlow would emulate it several "
                      "times slower; training in float32.", stacklevel=2)
        return None
    return policy
