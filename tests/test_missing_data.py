"""Missing default data: a test skips on a developer's machine and fails under CI=true."""
import pytest

from zoo import DataMissing, ZooError
from zoo.testing import require


def test_missing_data_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no such package"):
        require(False, "no such package")
    require(True, "present")  # present data: nothing happens


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_missing_data_fails_under_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="missing under CI: no such package"):
        require(False, "no such package")


def test_data_missing_is_a_user_error():
    # the CLI prints it as one line with exit code 2, like any ZooError
    assert issubclass(DataMissing, ZooError)
