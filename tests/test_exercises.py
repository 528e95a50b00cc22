"""The "Your turn" checkers: the reference solution passes, a skeleton is "not done yet" without
raising, and typical wrong answers are rejected with the intended hint."""

import re

import numpy as np
import pytest

from backprop import exercises as check
from backprop.exercises import _core

from exercise_answers import EXERCISES

NAMES = sorted(EXERCISES)
WRONG = [(name, index) for name in NAMES for index in range(len(EXERCISES[name][1]))]


def test_every_exercise_is_answered_here():
    checkers = {name for name in check.__all__ if name not in ("CheckResult", "distinguish_exact")}
    assert checkers - {"mlp_training"} == set(EXERCISES) and "mlp_training" in checkers


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_solution_passes(name):
    result = getattr(check, name)(EXERCISES[name][0])
    assert result.passed, repr(result)
    assert bool(result) and result.hint is None
    assert all(row.ok for row in result.rows) and result.rows


@pytest.mark.parametrize("name", NAMES)
def test_a_passing_output_holds_no_rounding_noise(name):
    """Saved outputs are compared byte for byte on other machines: no digits but tolerances."""
    result = getattr(check, name)(EXERCISES[name][0])
    verdicts = {row.verdict for row in result.rows}
    assert all(re.fullmatch(r"✓ (exact|within 1e-\d+|up to float32 rounding|right)", v)
               for v in verdicts), verdicts
    assert not re.search(r"\d\.\d+e-\d", repr(result) + result._repr_html_())


@pytest.mark.parametrize("name", NAMES)
def test_a_skeleton_is_not_done_yet(name):
    def skeleton(*args):
        """The learner has not written the body yet."""
        ...

    result = getattr(check, name)(skeleton)
    assert result.status == "not done" and not result
    assert "not done yet" in repr(result) and "`skeleton`" in repr(result)
    assert all(row.verdict == "… not done" for row in result.rows)


@pytest.mark.parametrize("name", NAMES)
def test_raise_not_implemented_is_not_done_yet(name):
    def skeleton(*args):
        raise NotImplementedError

    assert getattr(check, name)(skeleton).status == "not done"


@pytest.mark.parametrize("name, index", WRONG, ids=[f"{n}-{i}" for n, i in WRONG])
def test_a_wrong_answer_is_rejected_with_its_hint(name, index):
    wrong, fragment = EXERCISES[name][1][index]
    result = getattr(check, name)(wrong)
    assert not result and result.status in ("failed", "error")
    assert fragment in (result.hint or "") + result.message, repr(result)


@pytest.mark.parametrize("name", NAMES)
def test_at_least_six_wrong_answers_per_exercise(name):
    assert len(EXERCISES[name][1]) >= 6


def test_the_first_wrong_quantity_is_named_with_both_shapes():
    result = check.linear_backward(lambda x, w, g: (x.T @ g, g.sum(axis=0), g @ w))
    assert ("the first wrong quantity is dW, batch 5 (expected shape (4, 3), yours (3, 4))"
            in result.message)
    assert [row.verdict for row in result.rows][:3] == ["✗ wrong shape", "✓ within 1e-5",
                                                        "✓ within 1e-5"]


def test_rows_come_in_backward_order():
    result = check.mlp_backward(EXERCISES["mlp_backward"][0], sizes=(6, 5, 4, 3))
    assert [row.name for row in result.rows][:4] == ["dZ3, batch 8", "dW3, batch 8", "db3, batch 8",
                                                    "dA2, batch 8"]


def test_a_large_difference_is_shown_with_two_digits_a_small_one_is_not():
    want = np.array([1.0, 2.0])
    assert _core.verdict(np.array([1.0, 2.5]), want, 1e-8) == ("✗ wrong: max difference 0.5",
                                                               False)
    assert _core.verdict(want + 1e-7, want, 1e-8)[0] == "✗ close, but not within the rule"
    assert _core.verdict(want.astype(np.float32), want)[0] == "✗ right only up to float32 rounding"
    assert _core.verdict(want.astype(np.float32), want, float32=True)[0] == (
        "✓ up to float32 rounding")
    assert _core.verdict(want + 1e-9, want, 1e-8)[0] == "✓ within 1e-8"
    assert _core.verdict(want + 1e-9, want)[0] == "✓ within 1e-5"
    assert _core.verdict(want * (1 + 1e-7), want)[0] == "✓ within 1e-5"


def test_exact_is_shown_only_when_asked_for():
    want = np.array([1.0, 2.0])
    assert _core.verdict(want.copy(), want, 1e-8)[0] == "✓ within 1e-8"
    check.distinguish_exact(True)
    try:
        assert _core.verdict(want.copy(), want, 1e-8)[0] == "✓ exact"
    finally:
        check.distinguish_exact(False)


def test_a_learner_exception_is_reported_not_raised():
    def linear_backward(x, weight, grad_out):
        grad_weight = grad_out.T @ x
        return grad_weight, grad_out.sum(axis=0), undefined_name  # noqa: F821

    result = check.linear_backward(linear_backward)
    assert result.status == "error" and not result
    assert "`linear_backward` raised NameError" in result.message
    assert "in the line `return grad_weight, grad_out.sum(axis=0), undefined_name" in result.message
    assert result.exercise == "Linear.backward"


def test_a_partly_done_answer_says_what_is_missing():
    result = check.linear_backward(lambda x, w, g: (g.T @ x, ..., None))
    assert result.status == "not done"
    assert "3 of 9 quantities filled in" in result.message
    assert "still missing db, dX." in result.message


def test_a_result_of_the_wrong_form_says_what_is_expected():
    result = check.linear_backward(lambda x, w, g: (g.T @ x, g.sum(axis=0)))
    assert result.status == "failed" and "expected a tuple of 3: (dW, db, dX)" in result.message


def test_passing_the_result_instead_of_the_function_is_explained():
    result = check.sigmoid_backward(np.zeros(3))
    assert result.status == "error" and "pass the function itself" in result.message


def test_html_is_a_table_without_the_expected_values():
    result = check.sigmoid_backward(lambda out, g: g * out)
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + 4 and "Hint:" in page and "DERIVATIVE" in page
    assert not re.search(r"\d\.\d{4}", page)  # no array of numbers, expected or received


def test_the_training_check_passes_the_solution_and_catches_a_flipped_sign():
    solution = EXERCISES["mlp_backward"][0]
    assert check.mlp_training(solution)

    def uphill(params, x, y):
        return {key: -value for key, value in solution(params, x, y).items()}

    result = check.mlp_training(uphill)
    assert not result and "missed the target" in result.message and "sign" in result.hint


def test_the_training_check_does_not_pass_a_backward_that_trains_but_is_wrong():
    from exercise_answers import _no_mask

    result = check.mlp_training(_no_mask)
    assert not result and "ReLU mask" in result.hint


def test_the_training_check_of_a_skeleton_is_not_done():
    def mlp_backward(params, x, y):
        ...

    assert check.mlp_training(mlp_backward).status == "not done"


def test_the_predicted_bytes_are_what_manual_layers_really_keep():
    from backprop.exercises.cost import measured_bytes_kept

    sizes, batch = (784, 128, 64, 10), 64
    assert measured_bytes_kept(sizes, batch) == (
        8 * batch * (784 + 128 + 64) + batch * (128 + 64) + 8 * batch * 10 + 8 * batch)


# ----------------------------------------------------------------------------- from a learner trial


def test_a_body_that_forgets_return_is_not_called_not_done():
    def clip_grad_norm(grads, max_norm):
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        for g in grads:
            g *= min(1.0, max_norm / norm)

    result = check.clip_grad_norm(clip_grad_norm)
    assert result.status == "failed" and not result
    assert "`clip_grad_norm` returned None" in result.message and "`return`" in result.message
    assert "not done" not in repr(result)


def test_the_html_headline_does_not_repeat_an_exercise_name_with_a_colon():
    page = check.tinynet_backward(lambda w, i, t: ...)._repr_html_()
    assert page.count("the 2-2-2 network's backward pass") == 1
    assert "… not done yet" in page


def test_one_wrong_number_gets_no_constant_factor_hint():
    result = check.grad_norm(lambda grads: float(np.mean([np.linalg.norm(g) for g in grads])))
    assert "times the expected one" not in (result.hint or "")


def test_a_scalar_returned_as_an_array_is_told_to_be_one_number():
    result = check.grad_norm(lambda grads: [np.linalg.norm(g) for g in grads])
    assert "ONE number" in result.hint and "gradient always has the shape" not in result.hint


def test_results_returned_in_the_wrong_order_are_recognised():
    result = check.linear_backward(lambda x, w, g: (g.sum(axis=0), g.T @ x, g @ w))
    assert "your dW and db hold each other's values" in result.hint


def test_an_integer_array_is_recognised():
    def softmax_cross_entropy_backward(logits, targets):
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = np.zeros(logits.shape, dtype=int)
        grad[:] = p / len(targets)
        grad[np.arange(len(targets)), targets] -= 1
        return grad

    result = check.softmax_cross_entropy_backward(softmax_cross_entropy_backward)
    assert "integer dtype" in result.hint


def test_two_results_are_both_right():
    assert "all 8 quantities are right" in check.bce_gradient(EXERCISES["bce_gradient"][0]).message


def _tinynet_right(weights, inputs, targets):
    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    w1, w2, w3, w4, w5, w6, w7, w8 = weights
    (i1, i2), (t1, t2) = inputs, targets
    a_h1, a_h2 = sigmoid(w1 * i1 + w2 * i2), sigmoid(w3 * i1 + w4 * i2)
    a_o1, a_o2 = sigmoid(w5 * a_h1 + w6 * a_h2), sigmoid(w7 * a_h1 + w8 * a_h2)
    d_o1, d_o2 = (a_o1 - t1) * a_o1 * (1 - a_o1), (a_o2 - t2) * a_o2 * (1 - a_o2)
    d_h1 = (d_o1 * w5 + d_o2 * w7) * a_h1 * (1 - a_h1)
    d_h2 = (d_o1 * w6 + d_o2 * w8) * a_h2 * (1 - a_h2)
    return {"delta_o1": d_o1, "delta_o2": d_o2, "delta_h1": d_h1, "delta_h2": d_h2,
            "grads": [d_h1 * i1, d_h1 * i2, d_h2 * i1, d_h2 * i2,
                      d_o1 * a_h1, d_o1 * a_h2, d_o2 * a_h1, d_o2 * a_h2]}


def test_the_chain_rule_check_catches_an_answer_typed_in_from_the_chapter():
    from backprop import tinynet

    assert check.tinynet_backward(_tinynet_right)
    fixed = _tinynet_right(tinynet.WEIGHTS, tinynet.INPUTS, tinynet.TARGETS)
    result = check.tinynet_backward(lambda weights, inputs, targets: fixed)
    assert not result and "right at the chapter's numbers, but at other weights" in result.message
    assert "from its arguments" in result.hint


def test_the_chain_rule_check_recognises_grads_in_the_wrong_order():
    def backward(weights, inputs, targets):
        out = _tinynet_right(weights, inputs, targets)
        out["grads"] = out["grads"][4:] + out["grads"][:4]  # w5..w8 first
        return out

    assert "right values in the wrong places" in check.tinynet_backward(backward).hint


def test_the_chain_rule_check_names_the_forgotten_half():
    def backward(weights, inputs, targets):
        out = _tinynet_right(weights, inputs, targets)
        return {k: (2 * v if k != "grads" else [2 * g for g in v]) for k, v in out.items()}

    assert "its 1/2 cancels the 2" in check.tinynet_backward(backward).hint


def test_grad_norm_mistakes_found_in_the_trial():
    mean = check.grad_norm(lambda gs: np.mean([np.linalg.norm(g) for g in gs]))
    assert "average of the arrays' norms" in mean.hint
    largest = check.grad_norm(lambda gs: max(np.abs(g).max() for g in gs))
    assert "largest |value|" in largest.hint
    concatenated = check.grad_norm(lambda gs: np.linalg.norm(np.concatenate(gs)))
    assert concatenated.status == "error" and "g.ravel()" in concatenated.hint


def test_a_topological_order_with_duplicates_or_gaps_is_explained():
    def with_duplicates(root):
        order, i = [root], 0
        while i < len(order):
            order.extend(order[i].inputs)
            i += 1
        return order

    assert "appears twice" in check.topological_order(with_duplicates).hint
    assert "leaves out 6 of the 7 tensors" in check.topological_order(lambda root: [root]).hint


def test_sqrt_mistakes_found_in_the_trial():
    from backprop.autograd import Tensor

    def unlinked(x):
        return Tensor(np.sqrt(x.data), requires_grad=True)

    assert "inputs=(x,)" in check.tensor_sqrt(unlinked).message

    def unchanged(x):
        out = Tensor(np.sqrt(x.data), inputs=(x,), op="sqrt")
        out.backward_fn = lambda grad: x.add_grad(grad)
        return out

    assert "passed on unchanged" in check.tensor_sqrt(unchanged).hint
    ufunc = check.tensor_sqrt(lambda x: Tensor(np.sqrt(x), inputs=(x,)))
    assert ufunc.status == "error" and "x.data" in ufunc.hint


def test_more_mistakes_found_in_the_trial():
    from exercise_answers import EXERCISES as answers

    def by_classes(z, y):
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        return p / z.shape[1]

    assert "number of classes" in check.softmax_cross_entropy_backward(by_classes).hint
    gradient = answers["bce_gradient"][0]
    assert "the gradient itself" in check.logistic_step(
        lambda x, y, w, b, lr: gradient(x, y, w, b)).hint
    shapes = check.bce_gradient(lambda x, y, w, b: (x @ (x @ w + b - y), 0.0))
    assert shapes.status == "error" and "Which transpose" in shapes.hint
    right = answers["backprop_cost"][0]

    def no_targets(sizes, batch):
        out = dict(right(sizes, batch))
        out["bytes_kept"] -= 8 * batch
        return out

    assert "probabilities and the targets" in check.backprop_cost(no_targets).hint


def test_a_relu_mask_on_the_output_that_lets_everything_through_is_explained():
    from exercise_answers import _no_mask

    def mask_on_output(params, x, y):  # A >= 0 is always true: the same numbers as no mask
        return _no_mask(params, x, y)

    hint = check.mlp_backward(mask_on_output, sizes=(6, 5, 4, 3)).hint
    assert "A >= 0 is always true" in hint and "(Z > 0)" not in hint


def test_a_skeleton_with_set_up_lines_before_its_placeholder_is_not_done_yet():
    def tinynet_backward(weights, inputs, targets):
        w1, w2, w3, w4, w5, w6, w7, w8 = weights
        ...

    result = check.tinynet_backward(tinynet_backward)
    assert "not done yet" in repr(result) and "return" not in result.headline


def test_a_body_that_works_but_forgets_return_is_told_so():
    def sigmoid_backward(out, grad_out):
        grad = grad_out * out * (1 - out)

    assert "return" in repr(check.sigmoid_backward(sigmoid_backward))
