"""The Python API natively, on both backends; tests/browser/test_tokenizer_browser.py runs the very same
checks (tests/tokenizer_data/api_checks.py) inside Pyodide."""
import pytest
from tokenizer_data import api_checks, reference
from tokenizer_data.make_tokenizers import MINILM_MAX_LENGTH, minilm_dir

from staticml.tokenizer import Tokenizer, TokenizerError


def _ctx(backend):
    return {**{name: text for name, (text, _) in reference.files().items()},
            "Tokenizer": Tokenizer, "TokenizerError": TokenizerError, "backend": backend}


@pytest.mark.parametrize("backend", ["rust", "python"])
@pytest.mark.parametrize("check", sorted(api_checks.CHECKS))
def test_api_behaves_the_same_on_both_native_backends(check, backend):
    api_checks.CHECKS[check](_ctx(backend))


def test_native_default_backend_is_rust_and_carries_offsets():
    tok = Tokenizer.from_folder(minilm_dir())
    assert tok.backend_name == "rust"
    e = tok.encode("Hello world")
    assert e.offsets == [(0, 0), (0, 5), (6, 11), (0, 0)]


def test_from_folder_reads_the_models_max_length():
    for backend in ("rust", "python"):
        tok = Tokenizer.from_folder(minilm_dir(), backend=backend)
        assert tok.model_max_length == MINILM_MAX_LENGTH == 256
        assert len(tok.encode("word " * 1000).ids) == 256


def test_missing_file_and_unknown_backend_are_clear(tmp_path):
    with pytest.raises(TokenizerError, match="no tokenizer.json"):
        Tokenizer.from_file(tmp_path / "nope.json")
    with pytest.raises(TokenizerError, match="backend must be"):
        Tokenizer.from_json(reference.files()["minilm"][0], backend="js")
