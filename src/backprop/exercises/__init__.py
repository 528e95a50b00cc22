""""Your turn" checkers: one call per exercise, so a learner who writes a backward pass learns
at once whether it is right, and if not, which quantity is wrong first and why.

In a chapter::

    from backprop import exercises as check

    def linear_backward(x, weight, grad_out):
        ...

    check.linear_backward(linear_backward)

Each check builds its own seeded inputs, in several cases chosen to split near misses (a batch
of 1, other sizes, large logits, unsorted and negative axes, a batch that lacks classes), runs
the learner's function and the reference (the library's own code), and returns a
``CheckResult``: a table of every quantity in backward order, the first wrong one with its
expected and received shapes, and a hint naming the likely mistake. An answer passes when every
element agrees relative to its own quantity's scale (float64: 1e-5; float32 answers, where the
chapter works in float32, "up to float32 rounding"); it fails, and says why, when it changes the
caller's arrays or calls the library's own implementation of what it is asked to write (each
check's docstring names the helpers it allows). A skeleton (``...``) reports "not done yet" and a
learner's exception is reported, not raised, naming the case and keeping the table up to it, so
a notebook with unsolved exercises still runs to the end. The result is truthy only when the
answer is right: ``assert check.linear_backward(linear_backward)``.

Three checks are not about one function's numbers: ``value_engine`` (chapter 4) takes a whole
scalar ``Value`` class the learner built and compares it with the library's ``Tensor``;
``backward_order`` (chapter 4) takes a function that judges an order of a graph, and tries it on
twelve orders, right and wrong; ``diagnose_run`` (chapter 3) takes a function that names the cause of a failing run from its
records and tries it on eight runs of known cause.
"""

from backprop.exercises._core import CheckResult, distinguish_exact
from backprop.exercises.chain_rule import central_differences, tinynet_backward
from backprop.exercises.data import one_hot, prepare_images, standardise
from backprop.exercises.manualgrad import (
    linear_backward,
    sigmoid_backward,
    softmax_backward,
    softmax_cross_entropy_backward,
)
from backprop.exercises.training_fails import clip_grad_norm, diagnose_run, grad_norm
from backprop.exercises.engine import mul_backward, sum_backward, tensor_sqrt, topological_order
from backprop.exercises.logistic import bce_gradient, logistic_step
from backprop.exercises.mlp import mlp_backward, mlp_training
from backprop.exercises.normalisation import layernorm_backward
from backprop.exercises.optimisers import adam_update, momentum_step
from backprop.exercises.cost import backprop_cost, finite_difference_cost
from backprop.exercises.value import value_engine
from backprop.exercises.order import backward_order

__all__ = [
    "CheckResult",
    "distinguish_exact",
    "tinynet_backward",
    "central_differences",
    "prepare_images",
    "standardise",
    "one_hot",
    "linear_backward",
    "sigmoid_backward",
    "softmax_cross_entropy_backward",
    "softmax_backward",
    "grad_norm",
    "clip_grad_norm",
    "diagnose_run",
    "mul_backward",
    "sum_backward",
    "tensor_sqrt",
    "topological_order",
    "backward_order",
    "bce_gradient",
    "logistic_step",
    "mlp_backward",
    "mlp_training",
    "adam_update",
    "momentum_step",
    "backprop_cost",
    "finite_difference_cost",
    "value_engine",
    "layernorm_backward",
]
