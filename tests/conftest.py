"""Test set-up shared by every test: this checkout's py_src first on the path, the pytest-pyodide
dist folder built before collection, Chromium flags for WebGPU, and fixtures for the built site."""
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "py_src"))     # this checkout's staticml, even if another is installed
sys.path.insert(0, str(Path(__file__).parent))  # `harness`

from harness import chromium  # noqa: E402  (sets the Selenium environment before pytest-pyodide starts)
from harness.pyodide_dist import make_pyodide_dist  # noqa: E402
from harness.site_server import serving  # noqa: E402

BUILD = REPO / "build"


def pytest_configure(config):
    # pytest-pyodide reads the lockfile of --dist-dir while collecting, so it must exist now.
    dist = Path(config.getoption("--dist-dir", default=str(BUILD / "test-dist")))
    if not dist.is_absolute():
        dist = REPO / dist
    make_pyodide_dist(dist)
    from pytest_pyodide import get_global_config

    # set_flags replaces pytest-pyodide's defaults, so keep them (ENV.md)
    flags = get_global_config().get_flags("chrome")
    get_global_config().set_flags("chrome", [*flags, *chromium.BASE_FLAGS, *chromium.WEBGPU_FLAGS])


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The product's own `build.py build` output, built once per test session."""
    from staticml.builder.site import BuildOptions, build

    return build(BuildOptions(out=tmp_path_factory.mktemp("site") / "dist", log=lambda *_: None))


@pytest.fixture(scope="session")
def site_url(built_site):
    with serving(built_site) as url:
        yield url


@pytest.fixture
def browser():
    """A fresh headless Chromium (empty profile) with WebGPU."""
    driver = chromium.make_driver()
    yield driver
    driver.quit()


@pytest.fixture
def selenium_gpu(selenium):
    """pytest-pyodide's page with staticml loaded and its GPU glue registered as `staticml_glue`."""
    selenium.run_js("""
        if (!self.__staticmlGlue) {
            self.__staticmlGlue = await import("./gpu_glue.js");
            pyodide.registerJsModule("staticml_glue", self.__staticmlGlue);
        }
    """)
    selenium.load_package(["staticml"])
    return selenium


@pytest.fixture(scope="module")
def selenium_cpu(request, selenium_module_scope):
    """pytest-pyodide's page with staticml loaded and the CPU kernels' glue registered (`staticml_cpu`,
    `staticml_cpu_plan`); the kernels' URLs are in `selenium.cpu_urls` (JSON)."""
    from harness.cpu_site import install_cpu_kernels

    dist = Path(request.config.getoption("--dist-dir"))
    selenium = selenium_module_scope
    selenium.cpu_urls = install_cpu_kernels(dist if dist.is_absolute() else REPO / dist)
    selenium.run_js("""
        self.__staticmlCpu = await import("./cpu_glue.js");
        pyodide.registerJsModule("staticml_cpu", self.__staticmlCpu);
        pyodide.registerJsModule("staticml_cpu_plan", await import("./cpu_plan.js"));
    """)
    selenium.load_package(["staticml"])
    return selenium
