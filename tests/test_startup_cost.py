"""What every command pays before its first line: Latin cue terms compile their
bounded pattern only when a text holds the words (monitor.text.cues.LatinTerm), and
scipy loads only when a number needs it. The answers must stay the same."""

import re
import subprocess
import sys
from math import exp, factorial

from scipy.special import gammaln

from monitor.detection.alarm import nb_sf
from monitor.text.cues import _en_pattern, load_lexicon

TEXTS = ["we will sue acme", "pursue the matter", "sued!", "suing them", "lawsuit filed",
         "no lawyers here", "律师 sue律师", "", "sue_x sue2 sue-it", "call   the media now"]


def test_latin_terms_answer_as_the_bounded_regex_and_compile_only_when_needed():
    for term in ["sue*", "call the media", "lawyer*", "sue"]:
        lazy = _en_pattern(term)
        full = re.compile(lazy.pattern)
        for text in TEXTS:
            assert bool(lazy.search(text)) == bool(full.search(text)), (term, text)
            assert [m.span() for m in lazy.finditer(text)] == \
                [m.span() for m in full.finditer(text)], (term, text)
            assert lazy.sub("#", text) == full.sub("#", text), (term, text)
    fresh = _en_pattern("class action")
    assert fresh.search("nothing to see") is None and fresh._bounded is None
    assert fresh.search("a class action suit") and fresh._bounded is not None


def test_lexicon_loads_without_compiling_its_bounded_patterns():
    load_lexicon.cache_clear()
    cats = load_lexicon()
    terms = [p for c in cats for _, p in c.patterns if hasattr(p, "_bounded")]
    assert len(terms) > 100 and all(p._bounded is None for p in terms)


def test_negative_binomial_tail_matches_its_definition():
    """nb_sf uses scipy.special (scipy.stats costs every command a second to import):
    P(X >= k) summed from the pmf for small cases."""
    for k, mean, size in [(3, 1.5, 2.0), (10, 4.0, 0.7), (1, 0.2, 5.0), (6, 2.0, 5_000.0)]:
        if size >= 1_000:
            pmf = [exp(-mean) * mean ** i / factorial(i) for i in range(k)]
        else:
            p = size / (size + mean)
            pmf = [exp(gammaln(i + size) - gammaln(size) - gammaln(i + 1)) * p ** size
                   * (1 - p) ** i for i in range(k)]
        assert abs(nb_sf(k, mean, size) - (1 - sum(pmf))) < 1e-9, (k, mean, size)
    assert nb_sf(0, 3.0, 2.0) == 1.0 and nb_sf(0.5, 3.0, 2.0) == 1.0


def test_the_command_line_starts_without_scipy():
    """scipy costs about 0.5 s of CPU to import: the CLI (history, check-config, users,
    ...) must not pay it until something computes a tail or trains a model."""
    probe = ("import sys, monitor.cli.main\n"
             "print(sorted(m for m in sys.modules if m.startswith('scipy')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
