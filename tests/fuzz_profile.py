"""How hard the property tests search: the full profile in `make test` (and CI), a tenth of it in
`make test-quick` (HYPOTHESIS_PROFILE=quick), so the editing loop stays quick while CI keeps
every example count the tests were written with."""

import os

from hypothesis import settings

settings.register_profile("full", deadline=None)
settings.register_profile("quick", deadline=None, max_examples=10)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "full")
settings.load_profile(PROFILE)


def examples(full: int) -> int:
    """The number of examples to try: `full` under the full profile, a tenth (at least 10)
    under the quick one."""
    return full if PROFILE == "full" else max(10, full // 10)
