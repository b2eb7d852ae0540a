"""The fast model on real labelled posts (../shared/data, read in place; nothing
trained here is saved): trained on a set's fixed 80% split, it must rank that
set's held-out 20% at least as well as measured by ``python -m bench.scoring``."""

from __future__ import annotations

import pytest

from bench.scoring import DATA, airline, parts, waimai
from monitor.scoring.textmodel import evaluate, train

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent")]


def test_waimai_reviews_reach_the_target():
    tr_x, tr_y, te_x, te_y = parts(waimai())
    assert evaluate(train(tr_x, tr_y, "zh"), te_x, te_y).auc >= 0.95


def test_airline_tweets_keep_the_measured_floor():
    # The 0.93 target is not reached: bench/results/scoring.md measured 0.922 with
    # the default l2 (0.927 at best with l2 10); this guards that floor - 0.01.
    tr_x, tr_y, te_x, te_y = parts(airline())
    assert evaluate(train(tr_x, tr_y, "en"), te_x, te_y).auc >= 0.912
