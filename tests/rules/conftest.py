import pytest

from tests.rules.helpers import World


@pytest.fixture
def world(app):
    return World(app)
