"""The strategy ansible.cfg selects (plugins/strategy/mitogen_linear.py):
Ansible's linear strategy with Mitogen's mixin, from the pinned package."""

import configparser
import importlib.util
from pathlib import Path

from ansible.plugins.strategy.linear import StrategyModule as Linear
from ansible_mitogen.strategy import StrategyMixin

ROOT = Path(__file__).resolve().parents[2]


def load_shim():
    spec = importlib.util.spec_from_file_location("mitogen_linear_shim", ROOT / "plugins/strategy/mitogen_linear.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ansible_cfg_selects_the_shim():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    assert cfg["defaults"]["strategy"] == "mitogen_linear"
    assert (ROOT / cfg["defaults"]["strategy_plugins"] / "mitogen_linear.py").is_file()


def test_the_shim_is_linear_run_by_mitogen():
    strategy = load_shim().StrategyModule
    assert issubclass(strategy, StrategyMixin)
    assert issubclass(strategy, Linear)
    # Mitogen's mixin comes first, so that its run() wraps linear's
    assert strategy.__mro__.index(StrategyMixin) < strategy.__mro__.index(Linear)


def test_the_pinned_mitogen_is_installed():
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    from importlib.metadata import version
    assert version("mitogen") == pins["mitogen"]
