"""The browser backend inside Pyodide in headless Chromium: for every tokenizer file, one round trip runs
the whole corpus through `staticml.tokenizer` there and the results must equal Rust `tokenizers`
exactly (ids, attention masks, token type ids; single and batch, padded and truncated; decode). Then the
same API checks as tests/native/test_tokenizer_api.py run inside Pyodide in one more round trip."""
import inspect

import pytest
from pytest_pyodide import run_in_pyodide
from tokenizer_data import api_checks, parity, reference

NAMES = ["minilm", "gpt2_like", "llama_like", "t5_like"]
SCRIPT_TIMEOUT_S = 300  # a whole corpus through pure Python in WebAssembly, on 2 shared cores


@pytest.fixture(scope="module")
def page(selenium_module_scope):
    selenium_module_scope.load_package(["staticml"])
    selenium_module_scope.set_script_timeout(SCRIPT_TIMEOUT_S)
    return selenium_module_scope


@run_in_pyodide(packages=["staticml"])
def _corpus_in_pyodide(selenium, tokenizer_json: str, texts: list, max_length: int, parity_source: str):
    from staticml import IN_PYODIDE
    from staticml.tokenizer import Tokenizer

    parity = {}
    exec(parity_source, parity)  # the same `outputs` the native reference runs
    tok = Tokenizer.from_json(tokenizer_json, model_max_length=max_length)
    assert IN_PYODIDE and tok.backend_name == "python"
    return parity["pack"](parity["outputs"](tok, texts, max_length))


@pytest.mark.parametrize("name", NAMES)
def test_browser_tokenizer_matches_rust_on_the_whole_corpus(page, name):
    text, max_len = reference.files()[name]
    texts = list(reference.texts())
    got = parity.unpack(_corpus_in_pyodide(page, text, texts, max_len, inspect.getsource(parity)))
    diffs = parity.differences(reference.rust_outputs(name), got, texts)
    assert not diffs, f"{name}: the browser tokenizer differs from Rust tokenizers:\n" + "\n".join(diffs)


@run_in_pyodide(packages=["staticml"])
def _api_checks_in_pyodide(selenium, files: dict, checks_source: str):
    from staticml.tokenizer import Tokenizer, TokenizerError

    checks = {}
    exec(checks_source, checks)
    return checks["run_all"]({**files, "Tokenizer": Tokenizer, "TokenizerError": TokenizerError, "backend": None})


def test_api_checks_pass_inside_pyodide(page):
    files = {name: text for name, (text, _) in reference.files().items()}
    results = _api_checks_in_pyodide(page, files, inspect.getsource(api_checks))
    assert set(results) == set(api_checks.CHECKS)
    failed = {k: v for k, v in results.items() if v != "ok"}
    assert not failed, failed
