"""The LayerNorm backward exercise (chapter 9): the solution passes, a skeleton is "not
done yet", and typical wrong answers, written as a learner writes them (independently of
the checker's own catalogue), are each rejected with the hint meant for them."""

import numpy as np
import pytest

from backprop import exercises as check
from backprop.autograd import Tensor


def layernorm_backward(dy, x, eps):
    """The chapter's solution."""
    mu = x.mean(axis=1, keepdims=True)
    sigma = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    x_hat = (x - mu) / sigma
    return (dy - dy.mean(axis=1, keepdims=True)
            - x_hat * (dy * x_hat).mean(axis=1, keepdims=True)) / sigma


def _by_chain_rule(dy, x, eps):
    """Another right answer: the backward written step by step, intermediate by
    intermediate."""
    d = x.shape[1]
    mu = x.mean(axis=1, keepdims=True)
    centred = x - mu
    var = (centred**2).mean(axis=1, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    d_centred = dy * inv
    d_inv = (dy * centred).sum(axis=1, keepdims=True)
    d_var = d_inv * -0.5 * (var + eps) ** -1.5
    d_centred = d_centred + d_var * 2 * centred / d
    return d_centred - d_centred.mean(axis=1, keepdims=True)


def _float32_throughout(dy, x, eps):
    """Right, but in float32 whatever the inputs: the float64 cases reject it (one rule
    for every check: float64 inputs want a float64 answer)."""
    dy, x = dy.astype(np.float32), x.astype(np.float32)
    return layernorm_backward(dy, x, np.float32(eps))


def _keeps_the_inputs_dtype(dy, x, eps):
    """Another right answer: float32 on the float32 case, because its inputs are."""
    mu = np.mean(x, axis=1, keepdims=True)
    sigma = np.sqrt(np.mean((x - mu) ** 2, axis=1, keepdims=True) + x.dtype.type(eps))
    x_hat = (x - mu) / sigma
    n = x.shape[1]
    return (n * dy - dy.sum(1, keepdims=True)
            - x_hat * (dy * x_hat).sum(1, keepdims=True)) / (n * sigma)


def _parts(x, eps, ddof=0, eps_at="inside", axis=1):
    mu = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, ddof=ddof, keepdims=True)
    sigma = {"inside": np.sqrt(var + eps), "outside": np.sqrt(var) + eps,
             "none": np.sqrt(var)}[eps_at]
    return (x - mu) / sigma, sigma


def _no_mean_term(dy, x, eps):
    x_hat, sigma = _parts(x, eps)
    return (dy - x_hat * np.mean(dy * x_hat, axis=1, keepdims=True)) / sigma


def _no_variance_term(dy, x, eps):
    _, sigma = _parts(x, eps)
    return (dy - dy.mean(axis=1, keepdims=True)) / sigma


def _constants(dy, x, eps):
    return dy / _parts(x, eps)[1]


def _unbiased(dy, x, eps):
    x_hat, sigma = _parts(x, eps, ddof=1)
    return (dy - dy.mean(axis=1, keepdims=True)
            - x_hat * (dy * x_hat).mean(axis=1, keepdims=True)) / sigma


def _unbiased_std(dy, x, eps):  # np.std(ddof=1) squared back, a second way to write it
    mu = x.mean(axis=1, keepdims=True)
    sigma = np.sqrt(np.std(x, axis=1, ddof=1, keepdims=True) ** 2 + eps)
    x_hat = (x - mu) / sigma
    return (dy - dy.mean(axis=1, keepdims=True)
            - x_hat * (dy * x_hat).mean(axis=1, keepdims=True)) / sigma


def _eps_outside(dy, x, eps):
    x_hat, sigma = _parts(x, eps, eps_at="outside")
    return (dy - dy.mean(axis=1, keepdims=True)
            - x_hat * (dy * x_hat).mean(axis=1, keepdims=True)) / sigma


def _no_eps(dy, x, eps):
    x_hat, sigma = _parts(x, eps, eps_at="none")
    return (dy - dy.mean(axis=1, keepdims=True)
            - x_hat * (dy * x_hat).mean(axis=1, keepdims=True)) / sigma


def _axis0(dy, x, eps):
    x_hat, sigma = _parts(x, eps, axis=0)
    return (dy - dy.mean(axis=0, keepdims=True)
            - x_hat * (dy * x_hat).mean(axis=0, keepdims=True)) / sigma


def _sums(dy, x, eps):
    x_hat, sigma = _parts(x, eps)
    return (dy - dy.sum(axis=1, keepdims=True)
            - x_hat * (dy * x_hat).sum(axis=1, keepdims=True)) / sigma


def _no_sigma(dy, x, eps):
    x_hat, _ = _parts(x, eps)
    return (dy - dy.mean(axis=1, keepdims=True)
            - x_hat * (dy * x_hat).mean(axis=1, keepdims=True))


def _raw_x(dy, x, eps):
    _, sigma = _parts(x, eps)
    return (dy - dy.mean(axis=1, keepdims=True)
            - x * (dy * x).mean(axis=1, keepdims=True)) / sigma


def _in_place(dy, x, eps):
    x -= x.mean(axis=1, keepdims=True)  # changes the caller's x
    sigma = np.sqrt((x**2).mean(axis=1, keepdims=True) + eps)
    x_hat = x / sigma
    return (dy - dy.mean(axis=1, keepdims=True)
            - x_hat * (dy * x_hat).mean(axis=1, keepdims=True)) / sigma


def _with_autograd(dy, x, eps):
    xt = Tensor(x, requires_grad=True)
    centred = xt - xt.mean(axis=1, keepdims=True)
    y = centred / ((centred**2).mean(axis=1, keepdims=True) + eps) ** 0.5
    y.backward(dy)
    return xt.grad


def _with_torch(dy, x, eps):
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    y = torch.nn.functional.layer_norm(xt, (x.shape[1],), eps=eps)
    y.backward(torch.tensor(dy))
    return xt.grad.numpy()


def _no_keepdims(dy, x, eps):
    mu = x.mean(axis=1)
    return (x - mu) / eps


def _usual(dy, x, eps, *, mean_sign=1, var_sign=1, power=1, centred=False, factor=1,
           n=None):
    """The chapter's form with one thing changed, as the learner trial wrote them."""
    x_hat, sigma = _parts(x, eps)
    term = x - x.mean(axis=1, keepdims=True) if centred else x_hat
    mean_dy = (dy.mean(axis=1, keepdims=True) if n is None
               else dy.sum(1, keepdims=True) / n)
    var_dy = (dy * term).mean(axis=1, keepdims=True)
    return (dy - mean_sign * mean_dy - var_sign * factor * term * var_dy) / sigma**power


def _eps_squared(dy, x, eps):
    return layernorm_backward(dy, x, eps**2)


def _invariant_probe(**change):
    def wrong(dy, x, eps):
        return _usual(dy, x, eps, **change)
    wrong.__name__ = "_" + "_".join(f"{k}{v}" for k, v in change.items())
    return wrong


WRONG = [
    (_no_mean_term, "through the row's mean x_bar"),
    (_no_variance_term, "through the variance"),
    (_constants, "treated as constants"),
    (_unbiased, "BIASED"),
    (_unbiased_std, "BIASED"),
    (_eps_outside, "where eps sits"),
    (_no_eps, "right if eps were 0"),
    (_axis0, "down the columns"),
    (_sums, "1/n"),
    (_no_sigma, "division by sigma"),
    (_raw_x, "not from the raw x"),
    (_in_place, "changed the caller's `x` in place"),
    (_with_autograd, "Tensor.backward"),
    (_no_keepdims, "keepdims=True"),
    (_float32_throughout, "this exercise works in float64"),
    # the fifth trial: seven with no hint, one misled (n written in)
    (_invariant_probe(mean_sign=-1), "through x_bar has the wrong sign"),
    (_invariant_probe(var_sign=-1), "through the variance has the wrong sign"),
    (_invariant_probe(mean_sign=-1, var_sign=-1), "both correction terms"),
    (_invariant_probe(power=-1), "multiplied by sigma_x"),
    (_invariant_probe(power=2), "divided by sigma_x**2"),
    (_invariant_probe(centred=True), "x - x_bar where x_hat belongs"),
    (_invariant_probe(factor=2), "twice too large"),
    (lambda dy, x, eps: dy, "dy itself, unchanged"),
    (_eps_squared, "eps is squared"),
    (_invariant_probe(n=6), "number of features is written in"),
    # mistakes of no known kind: the two invariants say which term is wrong
    (_invariant_probe(mean_sign=0.5), "fails the first"),
    (_invariant_probe(factor=0.3), "passes the first but not the second"),
]


def test_the_solution_passes_with_a_table_free_of_rounding_noise():
    result = check.layernorm_backward(layernorm_backward)
    assert result.passed and result.hint is None, repr(result)
    assert all(row.verdict == "✓ within 1e-5" for row in result.rows), repr(result)


@pytest.mark.parametrize("answer", [_by_chain_rule, _keeps_the_inputs_dtype])
def test_other_right_answers_pass(answer):
    assert check.layernorm_backward(answer), repr(check.layernorm_backward(answer))


def test_the_float32_case_passes_up_to_float32_rounding():
    from backprop.exercises import normalisation
    result = normalisation.run_check(
        normalisation.NAME, layernorm_backward,
        normalisation._run(normalisation.HARDER),
        normalisation.reference_backward, float32=True)
    assert result.passed and "float32" in result.rows[-1].verdict, repr(result)


def test_float32_answers_pass_on_float32_inputs_only():
    result = check.layernorm_backward(_keeps_the_inputs_dtype)
    assert result.passed, repr(result)
    result = check.layernorm_backward(_float32_throughout)
    verdict = "✗ right only up to float32 rounding"
    assert not result and result.rows[0].verdict == verdict


def test_a_skeleton_is_not_done_yet():
    def layernorm_backward(dy, x, eps):
        """dL/dx."""
        ...

    result = check.layernorm_backward(layernorm_backward)
    assert result.status == "not done" and "not done yet" in repr(result)


@pytest.mark.parametrize("wrong, fragment", WRONG, ids=[w.__name__ for w, _ in WRONG])
def test_a_typical_wrong_answer_gets_its_own_hint(wrong, fragment):
    result = check.layernorm_backward(wrong)
    assert not result and result.status in ("failed", "error"), repr(result)
    assert fragment in (result.hint or "") + result.message, repr(result)


def test_pytorch_layer_norm_with_its_autograd_is_rejected():
    pytest.importorskip("torch")  # PyTorch's engine is watched once torch is imported
    result = check.layernorm_backward(_with_torch)
    assert not result and "torch" in result.message, repr(result)


def test_the_reference_agrees_with_finite_differences():
    from backprop.exercises.normalisation import reference_backward
    from backprop.gradcheck import agrees, numerical_grad

    rng = np.random.default_rng(0)
    x, dy, eps = rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), 0.1

    def loss(values):
        mu = values.mean(axis=1, keepdims=True)
        y = (values - mu) / np.sqrt(values.var(axis=1, keepdims=True) + eps)
        return float(np.sum(y * dy))

    assert agrees(reference_backward(dy, x, eps), numerical_grad(loss, x))
    assert agrees(reference_backward(dy, x, eps), layernorm_backward(dy, x, eps))


def test_at_least_eight_wrong_answers():
    assert len(WRONG) >= 8
