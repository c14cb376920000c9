"""How every random thing derives from one seed, for the estimators and the command line alike.

Member ``i`` (1-based) uses ``seed + i``: its weights, its fresh copies' weights and every one of
its shuffles. The integrated network's head uses ``seed + HEAD_SEED_OFFSET``, far above any
member's, and the meta-learners ``seed`` itself (scikit-learn's ``random_state``). Every seed
stays within what NumPy, scikit-learn and the Keras backends take (0 to 2**32 - 1). No Keras here.
"""

from __future__ import annotations

# Far above any member index, so the head never shares a seed with a member.
HEAD_SEED_OFFSET = 10_000
# Members' seeds stay below the head's (seed + HEAD_SEED_OFFSET).
MAX_MEMBERS = 1000
# NumPy, scikit-learn and the Keras backends take seeds from 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1
# The largest seed whose members' and head's seeds all stay below 2**32.
LARGEST = MAX_SEED - HEAD_SEED_OFFSET


def member_seed(seed: int, index: int) -> int:
    """Seed of member ``index`` (1-based)."""
    return seed + index


def head_seed(seed: int) -> int:
    return seed + HEAD_SEED_OFFSET
