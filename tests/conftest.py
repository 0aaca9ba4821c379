import os
import tempfile
import warnings

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ["COLUMNS"] = "220"  # rich tables are not truncated in CLI output checks
# hermetic: a developer's own correction memory (user data dir) never changes what a test rollout does
os.environ["SKILLSTACK_MEMORY"] = os.path.join(tempfile.mkdtemp(prefix="skillstack-test-memory-"), "corrections.json")
warnings.filterwarnings("ignore", message="Constant\\(s\\) may be too high")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def embedding_scorer():
    """The default embedding scorer (MiniLM + 1 648 exemplar embeddings): built once per test session.
    Tests that need fresh recomputation clear its per-text cache, which keeps the exemplar matrix."""
    from skillstack.envs import get_scene
    from skillstack.planners.lm import EmbeddingScorer, scene_exemplars

    return EmbeddingScorer(exemplars=scene_exemplars(get_scene("tabletop")))
