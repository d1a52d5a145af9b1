"""The frozen GUI grounder on hand-built pages: canonical target words round-trip in both modes, instructions
alone ground (dom), strict refuses everything but exact text, labels and the canonical forms, noise misgrounds
at its rate and always the same way, unknown targets are refused with the reason, coordinate grounders pick the
element under the point, the grounder params validate and build the grounder."""

import random

import pytest
from hypothesis import given, settings, strategies as st

from tracer1kit.actions import ActionType as A, Step
from tracer1kit.agents.grounding import DomGrounder, make_grounder, target_words
from tracer1kit.episodes import Element, Observation
from tracer1kit.params import GrounderParams, ParamsError, Params, params_from_dict

PAGE = Observation("Log in as alice", elements=(
    Element(1, "body", "", left=0, top=0, width=160, height=210),
    Element(2, "div", "Username", left=5, top=10, width=60, height=10),
    Element(3, "input_text", "", left=70, top=10, width=80, height=12, id="username"),
    Element(4, "div", "Password", left=5, top=30, width=60, height=10),
    Element(5, "input_password", "", left=70, top=30, width=80, height=12),
    Element(6, "button", "Login", left=5, top=60, width=40, height=20, id="subbtn"),
    Element(7, "button", "OK", left=50, top=60, width=30, height=20),
    Element(8, "button", "OK", left=90, top=60, width=30, height=20),
    Element(9, "span", "hidden", left=0, top=0, width=0, height=0),
))
G = DomGrounder()
STRICT = DomGrounder(strict=True)


@pytest.mark.parametrize("grounder", [G, STRICT], ids=["dom", "strict"])
def test_target_words_round_trip_for_every_visible_element(grounder):
    for element in PAGE.elements:
        if element.width == 0:
            continue
        words = target_words(PAGE, element)
        for action in (A.CLICK, A.TYPE) if element.tag.startswith("input") else (A.CLICK,):
            step = Step(action, words, "x" if action is A.TYPE else "")
            assert grounder.ground(step, PAGE).element_ref == element.ref, (element, words)
    assert target_words(PAGE, PAGE.elements[7]) == "OK (2)"   # duplicates get an ordinal
    assert target_words(PAGE, PAGE.elements[2]) == "input_text #1"  # no text: the tag's ordinal, never the id


# ---------------------------------------------------------------- strict: exact text or label only

@pytest.mark.parametrize("step, ref", [
    (Step(A.CLICK, "Login"), 6),
    (Step(A.CLICK, " login. "), 6),                 # normalised: case, edge punctuation, spaces
    (Step(A.TYPE, "Password", "x9"), 5),            # a field's label leads to the field
    (Step(A.CLICK, "OK (2)"), 8),                   # duplicated text: the ordinal form
    (Step(A.TYPE, "input_password #1", "x9"), 5),   # no text: the tag's ordinal
])
def test_strict_grounds_exact_text_labels_and_canonical_forms(step, ref):
    assert STRICT.ground(step, PAGE).element_ref == ref == G.ground(step, PAGE).element_ref


@pytest.mark.parametrize("step, ref, why", [
    (Step(A.CLICK, "the Login button"), 6, "fuzzy wording"),      # token F1 0.5 with 'Login'
    (Step(A.CLICK, "Logn"), None, "a typo"),
    (Step(A.CLICK, "subbtn"), 6, "an id"),
    (Step(A.CLICK, instruction="click the Login button"), 6, "the instruction alone"),
    (Step(A.TYPE, instruction="type 'alice' into the Username field"), 3, "the instruction alone"),
])
def test_strict_refuses_what_dom_accepts(step, ref, why):
    assert G.ground(step, PAGE).element_ref == ref, why
    refused = STRICT.ground(step, PAGE)
    assert not refused.executable and refused.action is None, why
    assert refused.error in (f"no element's exact text or label is {step.target!r}",
                             f"the {step.action.value} step names no element (set 'target')"), why


# ---------------------------------------------------------------- noise: wrong at rate p, always the same way

def button_page(index: int, buttons: int) -> Observation:
    """Page ``index`` with ``buttons`` visible buttons, a hidden one and a text field."""
    elements = [Element(1, "body", "", left=0, top=0, width=160, height=210),
                Element(2, "input_text", "", left=5, top=5, width=80, height=12),
                Element(3, "button", "hidden", left=0, top=0, width=0, height=0)]
    elements += [Element(10 + i, "button", f"b{index}-{i}", left=5, top=20 + 12 * i, width=40, height=10)
                 for i in range(buttons)]
    return Observation(f"page {index}", elements=tuple(elements))


@given(st.integers(0, 10**6), st.integers(1, 8), st.sampled_from([False, True]), st.text(max_size=12))
@settings(max_examples=100, deadline=None)
def test_noise_zero_grounds_exactly_like_the_noiseless_grounder(seed, buttons, strict, words):
    page = button_page(seed, buttons)
    noisy, plain = DomGrounder(strict=strict, noise=0.0, seed=seed), DomGrounder(strict=strict)
    for step in (Step(A.CLICK, f"b{seed}-0"), Step(A.CLICK, words), Step(A.TYPE, "input_text #1", "v")):
        assert noisy.ground(step, page) == plain.ground(step, page)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.6])
def test_noise_misgrounds_at_its_rate_onto_visible_fitting_elements(p):
    rng, pairs, wrong = random.Random(0), 3000, 0
    grounder = DomGrounder(strict=True, noise=p, seed=7)
    for index in range(pairs):
        page, target = button_page(index, buttons := rng.randint(2, 6)), rng.randrange(buttons)
        step = Step(A.CLICK, f"b{index}-{target}")
        grounding = grounder.ground(step, page)
        acted = next(e for e in page.elements if e.ref == grounding.element_ref)
        assert grounding.executable and acted.visible and acted.tag in ("button", "input_text")
        assert grounding.action.ref == grounding.element_ref
        wrong += grounding.element_ref != 10 + target
        assert DomGrounder(strict=True, noise=p, seed=7).ground(step, page) == grounding  # a function of (step, page)
    assert abs(wrong / pairs - p) < 4 * (p * (1 - p) / pairs) ** 0.5  # within 4 standard errors


def test_noise_is_fixed_by_the_seed_and_spares_pages_with_one_fitting_element():
    pages = [button_page(i, 4) for i in range(200)]
    steps = [Step(A.CLICK, f"b{i}-1") for i in range(200)]
    refs = {seed: [DomGrounder(noise=0.5, seed=seed).ground(s, p).element_ref for s, p in zip(steps, pages)]
            for seed in (0, 1)}
    assert refs[0] != refs[1] and refs[0] == [DomGrounder(noise=0.5, seed=0).ground(s, p).element_ref
                                              for s, p in zip(steps, pages)]
    lone_field = DomGrounder(noise=0.99, seed=0).ground(Step(A.TYPE, "input_text #1", "v"), pages[0])
    assert lone_field.element_ref == 2  # the only text field: nothing else to type into


# ---------------------------------------------------------------- params → grounder

def test_grounder_params_build_the_grounder_and_reject_bad_values_by_name():
    grounder = make_grounder(GrounderParams(kind="strict", noise=0.25, seed=3))
    assert (grounder.strict, grounder.noise, grounder.seed) == (True, 0.25, 3)
    assert not make_grounder(Params().eval.grounder).strict and make_grounder(Params().grounded.grounder).noise == 0.0
    params = params_from_dict({"grounded": {"grounder": {"kind": "strict"}}, "eval": {"grounder": {"noise": 0.0}}})
    assert params.grounded.grounder.kind == "strict" and params.eval.grounder.kind == "dom"
    for bad, named in ((({"grounded": {"grounder": {"noise": 1.0}}}), "grounded.grounder.noise"),
                       (({"eval": {"grounder": {"noise": -0.1}}}), "eval.grounder.noise"),
                       (({"eval": {"grounder": {"kind": "fuzzy"}}}), "eval.grounder.kind"),
                       (({"grounded": {"grounder": {"nosie": 0.1}}}), "grounded.grounder.nosie: unknown key")):
        with pytest.raises(ParamsError, match=named):
            params_from_dict(bad)
    with pytest.raises(ValueError, match=r"noise must be in \[0, 1\) \(got 1.0\)"):
        DomGrounder(noise=1.0)


def test_stage2_trains_against_the_grounder_of_its_params():
    from tracer1kit.training.stage2 import default_judge

    params = params_from_dict({"grounded": {"grounder": {"kind": "strict", "noise": 0.1, "seed": 5}}})
    judge = default_judge(params)
    gui, replay = judge.agents("click-test"), judge.replay("click-test")
    assert (gui.strict, gui.noise, gui.seed) == (True, 0.1, 5)
    assert (replay.strict, replay.noise) == (True, 0.0)  # live states are restored without misgroundings


def test_labels_lead_to_their_field_for_typing():
    g = G.ground(Step(A.TYPE, "Password", "x9"), PAGE)
    assert g.executable and g.element_ref == 5 and g.action.kind == "type" and g.action.text == "x9"
    assert G.ground(Step(A.CLICK, "Password"), PAGE).element_ref == 4


def test_instruction_alone_is_enough():
    assert G.ground(Step(A.CLICK, instruction="click the Login button"), PAGE).element_ref == 6
    typed = G.ground(Step(A.TYPE, instruction="type 'alice' into the Username field"), PAGE)
    assert typed.element_ref == 3 and typed.action.text == "alice"


def test_refusals_say_why():
    assert "no element matches 'Sbumit'" in G.ground(Step(A.CLICK, "Sbumit"), PAGE).error
    assert "value" in G.ground(Step(A.TYPE, "Username"), PAGE).error
    assert "tool-use action" in G.ground(Step(A.CALL, "ocr"), PAGE).error
    assert not G.ground(Step(A.CLICK, "hidden"), PAGE).executable  # zero-size elements are not targets
    assert G.ground(Step(A.DONE, done=True), PAGE).executable
    assert G.ground(Step(A.PRESS, value="Enter"), PAGE).action.text == "Enter"


def test_same_effect_compares_element_and_value():
    click_a, click_b = Step(A.CLICK, "OK (1)"), Step(A.CLICK, "OK (2)")
    assert G.same_effect(click_a, G.ground(click_a, PAGE), Step(A.CLICK, "ok (1)"), G.ground(Step(A.CLICK, "ok (1)"), PAGE))
    assert not G.same_effect(click_a, G.ground(click_a, PAGE), click_b, G.ground(click_b, PAGE))
    t1, t2 = Step(A.TYPE, "Username", "alice"), Step(A.TYPE, "username", "Alice ")
    assert G.same_effect(t1, G.ground(t1, PAGE), t2, G.ground(t2, PAGE))
    t3 = Step(A.TYPE, "Username", "bob")
    assert not G.same_effect(t1, G.ground(t1, PAGE), t3, G.ground(t3, PAGE))


