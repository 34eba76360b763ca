"""Every op on WebGPU inside Pyodide (SwiftShader in CI) against its numpy reference computed natively.

Each op is described as a plain-dict case (staticml.runtime.opcases), built natively on the numpy
backend (whose ops ARE the references) and, as data, inside Pyodide on the WebGPU backend. All cases
of a test go in one browser round trip. Sizes include 1, 3, 17, 127, 384 and 1536 (never tile
multiples together) with small products so SwiftShader stays fast. Tolerances: ops/tolerance.py.
"""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_pyodide import run_in_pyodide

import op_case_sets
from staticml import quant

pytestmark = pytest.mark.driver_timeout(300)  # pipeline compiles on SwiftShader take seconds each


@run_in_pyodide(packages=["staticml"])
async def _run_cases(selenium, cases: list, software: bool = None, big: bool = None, thin: bool = None,
                     splits: int = None) -> list:
    """Build, compile and run each case on one shared WebGPU backend; return each output's bytes.
    software, big, thin, splits: force the linear kernel variant (None = what the adapter and shape pick)."""
    from staticml.runtime import opcases
    from staticml.runtime.webgpu_backend import WebGPUBackend

    import builtins
    if not hasattr(builtins, "_staticml_test_backend"):  # one device per page: pipelines stay cached
        builtins._staticml_test_backend = await WebGPUBackend.request()
    be = builtins._staticml_test_backend
    be.software = be.device.is_software if software is None else software
    be.linear_big = big
    be.linear_skinny = thin
    be.linear_splits = splits
    outs = await opcases.run_all(be, cases)
    be.release_weights()
    return outs


def _check_all(selenium, cases, software: bool = None, big: bool = None, thin: bool = None, splits: int = None):
    op_case_sets.check_outputs(cases, _run_cases(selenium, cases.items, software, big, thin, splits))


VARIANTS = {"direct": (True, None, None), "tiled": (False, False, False, 1), "tiled128": (False, True, False),
            "skinny": (False, False, True)}
# "tiled" split into 3 slices of K where K has the TK-steps (1 to 3 slices over the cases' K, some slices
# partial), then splitk_sum: only linears split (the batched matmul's z is its batch)
SPLIT_K = {"tiled_split_k": (False, False, False, 3)}


@pytest.mark.parametrize("variant", list(VARIANTS) + list(SPLIT_K))
def test_linear_all_weight_dtypes_and_epilogues(selenium_gpu, variant):
    """Every kernel variant on this adapter (real GPUs run "skinny" for few rows, "tiled" whole or split along K,
    or for large M "tiled128"; CPU-emulated ones "direct")."""
    _check_all(selenium_gpu, op_case_sets.linear_cases(), *{**VARIANTS, **SPLIT_K}[variant])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_batched_matmul(selenium_gpu, variant):
    _check_all(selenium_gpu, op_case_sets.matmul_cases(), *VARIANTS[variant])


def test_elementwise_norms_softmax_pooling_argmax(selenium_gpu):
    _check_all(selenium_gpu, op_case_sets.elementwise_cases())


def test_embedding_attention_rotary_views(selenium_gpu):
    _check_all(selenium_gpu, op_case_sets.embedding_attention_view_cases())


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(M=st.integers(1, 70), K=st.integers(1, 200), N=st.integers(1, 140), wdtype=st.sampled_from(quant.DTYPES),
       act=st.sampled_from(["none", "gelu_erf", "silu"]), rows=st.integers(1, 40), C=st.integers(1, 700))
def test_hypothesis_drawn_shapes(selenium_gpu, M, K, N, wdtype, act, rows, C):
    """Shapes drawn by hypothesis (derandomized, so CI sees the same set): linear + a row-reduction chain."""
    _check_all(selenium_gpu, op_case_sets.drawn_cases(M, K, N, wdtype, act, rows, C))
