"""The second edition of the "Your turn" checkers: the pass rule, several cases per check,
inputs that must not change, the library that may not answer for the learner, hints for (at
least 90 % of) the mistakes caught, tables that survive an exception, the build-the-core and
the diagnosis checks, and valid answers written in other ways."""

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop import exercises as check
from backprop.exercises import _core
from backprop.exercises.training_fails import RECORDS, record_of

from exercise_answers import ALTERNATIVES, EXERCISES

NAMES = sorted(EXERCISES)
ALTERNATIVE_CASES = [(name, k) for name in NAMES for k in range(len(ALTERNATIVES.get(name, [])))]

# ----------------------------------------------------------------------------- the pass rule

finite = st.floats(-1e3, 1e3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)
arrays = st.lists(finite, min_size=1, max_size=12).map(np.array)
scales = st.sampled_from([1e-12, 1e-6, 1e-4, 1.0, 1e4, 1e9])


@settings(max_examples=60, deadline=None)
@given(arrays, scales)
def test_the_rule_accepts_a_relative_rounding_of_1e_7(values, scale):
    want = values * scale
    assert _core.agrees(want * (1 + 1e-7), want)
    assert _core.agrees(want + 1e-7 * np.max(np.abs(want)), want)


@settings(max_examples=60, deadline=None)
@given(arrays, scales, st.data())
def test_the_rule_rejects_a_one_percent_error_in_any_element_of_any_quantity(values, scale,
                                                                           data):
    """A 1 % error in one element fails, however small the whole quantity is, as long as the
    element is not below a thousandth of the quantity's largest (where rounding dominates)."""
    want = values * scale
    big = np.flatnonzero(np.abs(want) >= 1e-3 * np.max(np.abs(want)))
    i = data.draw(st.sampled_from(list(big)))
    wrong = want.copy()
    wrong[i] *= 1.01
    assert not _core.agrees(wrong, want)
    assert not _core.agrees(want * 1.01, want)  # the whole quantity off by 1 %


@settings(max_examples=40, deadline=None)
@given(arrays)
def test_float32_rounding_passes_where_the_chapter_allows_it_and_is_named(values):
    want = np.asarray(values, dtype=np.float64)
    got = want.astype(np.float32)
    assert _core.verdict(got, want, float32=True) == ("✓ up to float32 rounding", True)
    text, ok = _core.verdict(got, want)
    assert not ok and text == "✗ right only up to float32 rounding" or got.astype(
        np.float64).tolist() == want.tolist()


def test_a_five_percent_error_in_a_small_gradient_fails_both_rules():
    from backprop.gradcheck import agrees as course_rule

    small = np.array([1e-4, -2e-4, 5e-5])
    assert not course_rule(small * 1.05, small)  # the old 1e-5 + 1e-3 |n| let it through
    assert not _core.agrees(small * 1.05, small)  # judged on its own scale
    assert not _core.agrees(small * 1.01, small)


def test_a_habitual_plus_1e7_in_a_denominator_passes():
    assert check.softmax_cross_entropy_backward(ALTERNATIVES["softmax_cross_entropy_backward"][2])


def test_float32_answers_say_so_and_pass_where_the_chapter_is_float32():
    result = check.mlp_backward(ALTERNATIVES["mlp_backward"][1], sizes=(6, 5, 4, 3))
    assert result and "right up to float32 rounding" in result.message
    assert all(row.verdict == "✓ up to float32 rounding" for row in result.rows)


def test_float32_where_the_chapter_is_float64_is_named_not_misdiagnosed():
    from exercise_answers import _linear_float32

    result = check.linear_backward(_linear_float32)
    assert not result and "float32" in result.hint and "constant factor" not in result.hint


# ----------------------------------------------------------------------------- cases, inputs


def test_a_softmax_without_the_maximum_fails_on_large_logits_only():
    from exercise_answers import _ce_naive

    result = check.softmax_cross_entropy_backward(_ce_naive)
    verdicts = {row.name: row.ok for row in result.rows}
    assert verdicts["dlogits, batch 5"] and not verdicts["dlogits, large logits"]
    assert "maximum" in result.hint


def test_a_batch_size_written_in_is_named_with_both_batch_sizes():
    from exercise_answers import _bce_batch_written_in

    result = check.bce_gradient(_bce_batch_written_in)
    assert "batch 1" in result.message and "not 6" in result.hint
    assert "1 examples, not 6" in result.hint


def test_an_update_in_place_is_caught_and_named():
    from exercise_answers import _step_in_place

    result = check.logistic_step(_step_in_place)
    assert not result and "changed the caller's `w` in place" in result.message
    assert "w - lr * grad_w" in result.hint


def test_clipping_in_place_is_refused_with_the_courses_rule():
    """An exercise that returns new values leaves its inputs alone, clip_grad_norm included:
    the hint says so and names PyTorch's clip_grad_norm_ as the in-place exception."""
    from exercise_answers import _clip_in_place

    result = check.clip_grad_norm(_clip_in_place)
    assert not result and "NEW arrays" in result.hint and "clip_grad_norm_" in result.hint


def test_unsorted_and_negative_axes_split_the_near_misses():
    from exercise_answers import _sum_given_order, _sum_positive_only

    given_order = check.sum_backward(_sum_given_order)
    assert given_order.status == "error" and "(2, 3, 4).sum(axis=(2, 0))" in given_order.message
    positive = check.sum_backward(_sum_positive_only)
    assert not positive and "axis=-1" in positive.message + repr(positive)


def test_a_wrong_answer_on_a_random_case_of_the_property_is_caught():
    def only_named(x, axis, keepdims, grad):
        if x.size > 24:  # right everywhere but on the larger random shapes
            return np.zeros_like(x)
        return EXERCISES["sum_backward"][0](x, axis, keepdims, grad)

    result = check.sum_backward(only_named)
    assert not result and "random shapes and axes" in result.message


# ----------------------------------------------------------------------------- the library's own


def test_library_calls_are_caught_however_they_are_imported():
    from backprop import manual as m
    from backprop.manual import Linear as L

    def by_module(x, w, g):
        layer = m.Linear(w.shape[1], w.shape[0])
        layer.weight.data = w
        layer.forward(x)
        return layer.weight.grad, layer.bias.grad, layer.backward(g)

    class Mine(L):
        pass

    def by_subclass(x, w, g):
        layer = Mine(w.shape[1], w.shape[0])
        layer.weight.data = w
        layer.forward(x)
        dx = layer.backward(g)
        return layer.weight.grad, layer.bias.grad, dx

    for answer in (by_module, by_subclass):
        result = check.linear_backward(answer)
        assert not result and "backprop.manual.Linear.backward" in result.message
        assert "Allowed here: NumPy only" in result.message


def test_allowed_helpers_are_allowed():
    assert check.mul_backward(ALTERNATIVES["mul_backward"][1])  # unbroadcast


def test_the_guard_leaves_no_profile_hook_behind_and_chains_an_existing_one():
    seen = []

    def outer(frame, event, arg):
        seen.append(event)

    sys.setprofile(outer)
    try:
        check.linear_backward(EXERCISES["linear_backward"][0])
        assert sys.getprofile() is outer and seen
    finally:
        sys.setprofile(None)
    check.linear_backward(EXERCISES["linear_backward"][0])
    assert sys.getprofile() is None


def test_the_guard_is_cleared_when_the_learner_raises():
    check.linear_backward(lambda x, w, g: 1 / 0)
    assert sys.getprofile() is None


# ----------------------------------------------------------------------------- hints


@pytest.mark.parametrize("name", NAMES)
def test_wrong_answers_cover_the_kinds_of_mistake(name):
    fragments = [fragment for _, fragment in EXERCISES[name][1]]
    assert len(fragments) >= 6


def test_at_least_ninety_percent_of_caught_mistakes_get_a_specific_hint():
    caught = hinted = 0
    for name in NAMES:
        for wrong, _ in EXERCISES[name][1]:
            result = getattr(check, name)(wrong)
            if result.passed:
                continue
            caught += 1
            hinted += bool(result.hint)
    assert caught == sum(len(EXERCISES[n][1]) for n in NAMES)
    assert hinted / caught >= 0.9, (hinted, caught)


def test_no_matrix_product_is_blamed_where_there_is_none():
    result = check.sigmoid_backward(lambda out, g: (g * out * (1 - out)).T)
    assert "matrix product" not in (result.hint or "")
    assert "matrix product" not in (_core.diagnose(np.eye(3)[::-1].T, np.eye(3)[::-1],
                                                    products=False) or "")


def test_a_batch_hint_names_the_case_batch_and_only_where_there_is_one():
    from exercise_answers import _missing_mean

    hint = check.mlp_backward(_missing_mean, sizes=(6, 5, 4, 3)).hint
    assert "8 times too large, and 8 is this case's batch size" in hint
    assert _core.diagnose(np.array([8.0, 16.0]), np.array([1.0, 2.0]), batch=None) == (
        "every value is 8 times the expected one: a constant factor is missing or extra.")


def test_known_hints_for_the_mistakes_the_first_edition_left_unhinted():
    assert "sign inside" in check.sigmoid_backward(lambda o, g: g * o * (1 + o)).hint
    assert "tanh" in check.sigmoid_backward(lambda o, g: g * (1 - o**2)).hint
    assert "LEFT" in check.one_hot(lambda labels, c: np.eye(c)[labels - 1]).hint
    from exercise_answers import _mlp_forward_changed

    assert "biases" in check.mlp_backward(_mlp_forward_changed(biases=False),
                                          sizes=(6, 5, 4, 3)).hint


# ----------------------------------------------------------------------------- errors


def test_an_error_names_the_case_and_keeps_the_table_up_to_it():
    def breaks_on_one_example(x, w, g):
        if len(x) == 1:
            raise ValueError("one row")
        return g.T @ x, g.sum(axis=0), g @ w

    result = check.linear_backward(breaks_on_one_example)
    assert result.status == "error" and "in the case «batch 1» (case 2)" in result.message
    assert [row.verdict for row in result.rows][:3] == ["✓ within 1e-5"] * 3
    assert result.rows[3].verdict == "— not reached"
    assert "Traceback" not in repr(result)


def test_an_error_after_a_wrong_case_reports_the_wrong_case_first():
    from exercise_answers import _ce_rows

    result = check.softmax_cross_entropy_backward(_ce_rows)
    assert result.message.startswith("the first wrong quantity is dlogits, batch 5")
    assert "Then `_ce_rows` raised IndexError" in result.message and "wrong places" in result.hint


# ----------------------------------------------------------------------------- valid answers


@pytest.mark.parametrize("name, k", ALTERNATIVE_CASES,
                         ids=[f"{n}-{k}" for n, k in ALTERNATIVE_CASES])
def test_valid_alternatives_pass(name, k):
    result = getattr(check, name)(ALTERNATIVES[name][k])
    assert result.passed, repr(result)


# ----------------------------------------------------------------------------- build the core


def test_a_recursive_value_passes_with_a_gentle_note():
    result = check.value_engine(ALTERNATIVES["value_engine"][0])
    assert result.passed and "recursion limit" in result.note
    assert "Note:" in repr(result) and "<strong>Note:</strong>" in result._repr_html_()


def test_the_iterative_value_passes_the_deep_chain_without_a_note():
    result = check.value_engine(EXERCISES["value_engine"][0])
    assert result.passed and result.note is None
    assert any("5,000" in row.name for row in result.rows)


def test_a_half_written_value_is_not_done_and_says_which_methods():
    class Value:
        def __init__(self, data, _children=()):
            self.data, self.grad = float(data), 0.0

        def __add__(self, other):
            return Value(self.data + other.data)

        def __mul__(self, other):
            ...

        def tanh(self):
            ...

        def backward(self):
            ...

    result = check.value_engine(Value)
    assert result.status == "not done" and "__mul__, tanh, backward" in result.message


def test_the_reference_value_of_the_checker_is_right():
    from backprop.exercises.value import ReferenceValue

    assert check.value_engine(ReferenceValue)


# ----------------------------------------------------------------------------- diagnose a run


def test_each_cause_appears_at_two_scales_at_least():
    causes = {}
    for _, cause, make in RECORDS:
        causes.setdefault(cause, set()).add(make()["constant_loss"])
    assert set(causes) == {"exploding", "steps too large", "saddle", "healthy"}
    assert all(len(scales) >= 2 for scales in causes.values())


def test_record_of_a_real_failing_run_feeds_the_learner_function():
    from backprop import data, failing

    x, t = data.paraboloid(400, 0)
    run = failing.train(failing.split(x, t, 100, 0), "randn", 0.05, seed=0, epochs=2)
    shares = [failing.saturation(run.model, x)] * len(run.val_mse)
    record = record_of(run, shares, constant_loss=float(np.var(t)))
    assert set(record) >= {"val_mse", "grad_norm", "largest_parameter", "saturated_share",
                           "constant_loss", "lr", "steps_per_epoch"}
    label = EXERCISES["diagnose_run"][0](record)
    assert label in ("exploding", "steps too large", "saddle", "healthy")


def test_a_skeleton_diagnosis_is_not_done():
    def diagnose(record):
        ...

    result = check.diagnose_run(diagnose)
    assert result.status == "not done" and len(result.rows) == len(RECORDS)


def test_a_change_inside_a_dict_argument_is_caught():
    def mlp_backward(params, x, y):
        params["W1"] *= 1.0  # harmless in value, but the caller's array is written
        params["b1"][0] += 1e-9
        return EXERCISES["mlp_backward"][0](params, x, y)

    result = check.mlp_backward(mlp_backward, sizes=(6, 5, 4, 3))
    assert not result and "changed the caller's `params` in place" in result.message


def test_a_value_class_whose_body_is_a_stub_is_not_done():
    class Value:
        """What the student notebook's generator leaves of a class-wide solution region."""
        ...

    assert check.value_engine(Value).status == "not done"


# ----------------------------------------------------------------------------- the second trial


def test_a_recursive_sort_keeps_the_rows_of_the_small_graph_that_ran():
    from exercise_answers import _topo_recursive_deep_fails

    result = check.topological_order(_topo_recursive_deep_fails)
    assert result.status == "error" and "recursion limit" in result.hint
    verdicts = {row.name: row.verdict for row in result.rows}
    assert verdicts["a.grad, small graph"] == verdicts["b.grad, small graph"] == "✓ within 1e-5"
    assert verdicts["x.grad, chain of 10,000 ops"] == "— not reached"


def test_the_diagnosis_table_shows_what_each_record_holds():
    result = check.diagnose_run(EXERCISES["diagnose_run"][0])
    assert result.columns[1] == "its record" and "a label" not in repr(result)
    assert any("stopped after" in row.expected_shape for row in result.rows)
    assert all("epochs" in row.expected_shape or "stopped" in row.expected_shape
               for row in result.rows)


def test_an_answer_right_in_an_earlier_case_gets_a_complete_sentence():
    right = EXERCISES["backprop_cost"][0]

    def first_network_only(sizes, batch):
        out = dict(right(sizes, batch))
        if batch != 64:
            out["forward_macs"] += 1
        return out

    hint = check.backprop_cost(first_network_only).hint
    assert "but not in «[5, 3, 2], B=4»: a network of two layers" in hint
    assert not hint.endswith("its inputs differ")
    fallback = _core._earlier_case(
        "q, two", [_core.Row("q, one", "", "", "✓", True), _core.Row("q, two", "", "", "✗", False)],
        {"q, one": _core.Case("one", tuple), "q, two": _core.Case("two", tuple)})
    assert "its inputs differ, so something in your code holds for the first inputs" in fallback


def test_the_library_refusal_agrees_with_the_number_of_functions():
    from backprop.optim import clip_grad_norm_, clip_grad_value_

    def both(grads, max_norm):
        params = [SimpleNamespace(grad=g.copy()) for g in grads]
        clip_grad_value_(params, 1e9)
        clip_grad_norm_(params, max_norm)
        return [p.grad for p in params]

    two = check.clip_grad_norm(both)
    assert "`backprop.optim.clip_grad_value_`, `backprop.optim.clip_grad_norm_`" in two.message \
        or "`backprop.optim.clip_grad_norm_`, `backprop.optim.clip_grad_value_`" in two.message
    assert ", which compute what" in two.message
    from exercise_answers import _clip_library

    assert ", which computes what" in check.clip_grad_norm(_clip_library).message


def test_a_float32_copy_in_central_differences_is_told_float32_not_mutation():
    from exercise_answers import _central_float32_copy

    hint = check.central_differences(_central_float32_copy).hint
    assert "float32" in hint and "put back" not in hint


def test_an_integer_point_passes_when_converted():
    def converted(f, x, eps):
        return EXERCISES["central_differences"][0](f, x.astype(np.float64), eps)

    assert check.central_differences(converted)


def test_adam_lists_the_averages_before_theta_and_blames_float32_only_on_float32():
    from exercise_answers import _adam_v_odd, _adam_weights

    result = check.adam_update(_adam_weights(v_from_m=True))
    names = [row.name.split(",")[0] for row in result.rows[:3]]
    assert names == ["new_m", "new_v", "new_theta"]
    assert "new_v" in result.message and "float32" not in result.hint, repr(result)
    assert "float32" not in check.adam_update(_adam_v_odd).hint


def test_adam_accepts_kingma_and_bas_efficient_form_and_says_so():
    from exercise_answers import _adam_efficient

    result = check.adam_update(_adam_efficient())
    assert result.passed and "efficient" in result.note, repr(result)
    reference = check.adam_update(EXERCISES["adam_update"][0])
    assert "efficient" not in (reference.note or "")


@pytest.mark.parametrize("mistake, fragment", [
    (dict(eps_inside=True), "outside the square root"),
    (dict(corrected=False), "no bias correction"),
    (dict(t_shift=1), "off by one"),
    (dict(t_shift=-1), "off by one"),
])
def test_the_efficient_form_with_a_mistake_still_fails(mistake, fragment):
    from exercise_answers import _adam_efficient

    result = check.adam_update(_adam_efficient(**mistake))
    assert not result.passed and fragment in (result.hint or ""), repr(result)

# ----------------------------------------------------------------------------- the third trial


def test_record_of_takes_the_learning_rate_from_the_run():
    from backprop import data, failing

    x, t = data.paraboloid(200, 0)
    run = failing.train(failing.split(x, t, 50, 0), "randn", 0.05, seed=0, epochs=1)
    assert record_of(run, constant_loss=1.0)["lr"] == 0.05
    assert record_of(run, constant_loss=1.0, lr=0.2)["lr"] == 0.2


def test_the_near_miss_runs_keep_the_passing_table_of_eight():
    from backprop.exercises.training_fails import NEAR_MISS_RECORDS

    result = check.diagnose_run(EXERCISES["diagnose_run"][0])
    assert result and len(result.rows) == len(RECORDS)
    labels = {cause for _, cause, _, _ in NEAR_MISS_RECORDS}
    assert labels == {"saddle", "healthy", "steps too large"}


def test_a_ratio_that_differs_between_values_is_no_constant_factor():
    from exercise_answers import _mul_no_factor, _tinynet_one_wrong_input, _value_with

    lone = check.tinynet_backward(_tinynet_one_wrong_input)
    assert "every value is" not in lone.hint and "wrong operand or input" in lone.hint
    value = check.value_engine(_value_with(__mul__=_mul_no_factor))
    assert "every value is" not in value.hint and "__mul__" in value.hint


def test_mlp_backward_in_float32_passes_marked_as_float32_rounding_as_chapter_7_says():
    from exercise_answers import _mlp_float32

    result = check.mlp_backward(_mlp_float32)
    assert result.passed and "up to float32 rounding" in result.message, repr(result)
    assert all(row.verdict == "✓ up to float32 rounding" for row in result.rows)
    exact = check.mlp_backward(EXERCISES["mlp_backward"][0])
    assert "float32" not in exact.message
