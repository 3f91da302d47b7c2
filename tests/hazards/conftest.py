import pytest

from tests.hazards import factories as hf


@pytest.fixture
def w(app):
    return hf.world(app)
